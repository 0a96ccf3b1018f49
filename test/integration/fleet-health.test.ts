import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shareOf } from '../../src/model/traffic-plan.js';
import { waitFor } from '../../tools/wait-for.js';
import { startHttpBackend } from '../../tools/backends/http-backend.js';
import { startOpenLoad } from '../support/open-loop.js';
import { startControllerRig, type ControllerRig } from './controller-harness.js';

// The simulator's host-loss trace, through a real Envoy: three in-house backends (4 slots at 400 ms
// ⇒ 30 rps, 24 rps at the 0.8 target), load just under the target, then one backend dies (16 rps).
const RATE = 22;
const SERVICE_MS = 400;

describe('capacity follows health: losing an in-house host spills at once, its return gives the share back', () => {
  let rig: ControllerRig;
  beforeAll(async () => {
    rig = await startControllerRig({
      backends: 3,
      inHouse: {
        health_check: { path: '/healthz', interval_ms: 500, timeout_ms: 300, unhealthy_threshold: 2, healthy_threshold: 2 },
        outlier_detection: { consecutive_gateway_failure: 2, interval_ms: 500, base_ejection_time_ms: 2000 },
        slow_start_ms: 2000,
      },
      capacity: { in_house_service_time_ms: SERVICE_MS, modal_service_time_ms: SERVICE_MS + 20 },
    });
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  const share = (): number => shareOf(rig.app.publisher.plan('echo'));
  const capacity = (): number => rig.app.read.service('echo')!.inHouseCapacity;

  it('kills one of three backends under load near the target, then brings it back', async () => {
    const load = startOpenLoad(rig.url(SERVICE_MS), RATE);
    try {
      await new Promise((r) => setTimeout(r, 6000));
      expect(capacity()).toBe(12);
      const before = share();
      expect(before).toBeLessThan(0.15);
      load.reset();

      const victim = rig.inHouse[2]!;
      const port = victim.port;
      const killedAt = Date.now();
      await victim.close();
      await waitFor(() => capacity() <= 8, 5000, "Spillway's in-house capacity to drop");
      const capacityAfterMs = Date.now() - killedAt;
      await waitFor(() => share() > before + 0.1, 5000, 'the Modal share to rise').catch((err: unknown) => {
        throw new Error(`${String(err)}; share ${share()}, decision: ${rig.app.controller?.current('echo')?.reason}`);
      });
      const shareAfterMs = Date.now() - killedAt;
      const host = rig.app.read.service('echo')!.inHouse.find((e) => e.endpoint === `127.0.0.1:${port}`)!;
      expect(host.serving).not.toBe('SERVING');
      // Once Envoy leaves the host out (UNUSED, not just failing), Envoy scales the in-house locality by
      // min(1, 1.4 × 2/3): the published in-house weight is corrected so Envoy runs the planned share.
      await waitFor(
        async () => ((await rig.envoy.localities('echo')).get('in-house')?.weight ?? 0) > rig.app.publisher.plan('echo')!.inHouseWeight,
        5000,
        'the in-house weight corrected for the healthy fraction',
      );
      // The transition (requests in flight on the dying host, retries of refused connections)...
      const transition = load.stats();
      load.reset();
      await new Promise((r) => setTimeout(r, 4000));
      // ...then the new steady state: Modal takes the excess.
      const during = load.stats();
      console.log(
        `host loss: capacity down after ${capacityAfterMs} ms, share ${before.toFixed(3)} → ${share().toFixed(3)} after ${shareAfterMs} ms; ` +
          `transition ${transition.sent} sent, ${transition.byTier.otherError} failed; then ${JSON.stringify(during.byTier)} of ${during.sent}`,
      );
      // A request in flight on the dying host can fail; nothing else should.
      const failed = transition.byTier.otherError + during.byTier.otherError;
      expect(failed).toBeLessThanOrEqual(Math.max(3, 0.01 * (transition.sent + during.sent)));
      expect(during.byTier.modal).toBeGreaterThan(0.05 * during.sent);

      const peak = share();
      load.reset();
      rig.inHouse[2] = await startHttpBackend('inhouse-c', { port });
      await waitFor(() => capacity() === 12, 10_000, 'capacity back when the host returns');
      await waitFor(() => share() < peak - 0.1, 10_000, 'the Modal share to fall back');
      expect(rig.inHouse[2].requests.length).toBeGreaterThan(0);
      expect(load.stats().byTier.otherError).toBe(0);
    } finally {
      await load.stop();
    }
  });
});
