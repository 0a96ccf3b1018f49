import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shareOf } from '../../src/model/traffic-plan.js';
import { waitFor } from '../../tools/wait-for.js';
import { startHttpBackend } from '../support/backends.js';
import { startOpenLoad } from '../support/open-loop.js';
import { startControllerRig, type ControllerRig } from './controller-harness.js';

// The simulator's host-loss trace, through a real Envoy: three in-house backends (4 slots at 200 ms
// ⇒ 60 rps, 48 rps at the 0.8 target), load just under the target, then one backend dies.
const RATE = 44;

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
      capacity: { hold_ms: 1000 },
    });
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  const share = (): number => shareOf(rig.app.publisher.plan('echo'));
  const capacity = (): number => rig.app.read.service('echo')!.inHouseCapacity;

  it('kills one of three backends under load near the target, then brings it back', async () => {
    const load = startOpenLoad(rig.url(200), RATE);
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
      // Envoy runs the planned share: the in-house weight is corrected for the 2/3 healthy fraction.
      const plan = rig.app.publisher.plan('echo')!;
      const running = await rig.envoy.localities('echo');
      expect(running.get('in-house')!.weight).toBeGreaterThan(plan.inHouseWeight);
      await new Promise((r) => setTimeout(r, 3000));
      const during = load.stats();
      console.log(
        `host loss: capacity down after ${capacityAfterMs} ms, share ${before.toFixed(3)} → ${share().toFixed(3)} after ${shareAfterMs} ms; ` +
          `${during.sent} sent, ${during.byTier.otherError} failed, ${during.byTier.modal} to Modal`,
      );
      // A request in flight on the dying host can fail; nothing else should.
      expect(during.byTier.otherError).toBeLessThanOrEqual(Math.max(5, 0.01 * during.sent));
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
