import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModalHealth, shareOf } from '../../src/model/traffic-plan.js';
import { waitFor } from '../../tools/wait-for.js';
import { startHttpBackend } from '../../tools/backends/http-backend.js';
import { startOpenLoad } from '../support/open-loop.js';
import { startControllerRig, type ControllerRig } from './controller-harness.js';

// Spillway's own probe (in_house.probe) through a real Envoy: a host lost or back moves capacity and
// the Modal share within the probe's interval, not at Envoy's next load report. Reports come every 3 s
// here and each event happens just after one, so the report path alone would take ≈ 3 s.
const RATE = 22;
const SERVICE_MS = 400;
const LRS_MS = 3000;
const PROBE_MS = 200;

describe('in_house.probe: capacity follows a host lost and back ahead of the load reports', () => {
  let rig: ControllerRig;
  beforeAll(async () => {
    rig = await startControllerRig({
      backends: 3,
      // No health check or outlier ejection in Envoy: it uses a host that answers at once.
      inHouse: { probe: { path: '/healthz', interval_ms: PROBE_MS, timeout_ms: 150, unhealthy_threshold: 2 } },
      capacity: {
        in_house_service_time_ms: SERVICE_MS,
        modal_service_time_ms: SERVICE_MS + 20,
        stale_after_ms: 4 * LRS_MS,
        fast_window_ms: LRS_MS,
        slow_window_ms: 3 * LRS_MS,
      },
      extra: { lrs: { interval_ms: LRS_MS } },
    });
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  const share = (): number => shareOf(rig.app.publisher.plan('echo'));
  const capacity = (): number => rig.app.read.service('echo')!.inHouseCapacity;
  /** New requests go to Modal: a share of them, unless Modal is soft-cordoned (released, draining). */
  const spilling = (): boolean => share() > 0 && rig.app.publisher.plan('echo')?.modalHealth === ModalHealth.Healthy;
  /** Resolves just after the next load report is taken in. */
  const nextReport = (): Promise<number> =>
    new Promise((resolve) => {
      const off = rig.app.lrs.view.subscribe(() => {
        off();
        resolve(Date.now());
      });
    });

  it('counts a killed host out and a revived one back within a second, between two reports', async () => {
    const load = startOpenLoad(rig.url(SERVICE_MS), RATE);
    try {
      await waitFor(() => capacity() === 12 && rig.app.lrs.view.service('echo') !== undefined, 15_000, 'load reports at full capacity');
      await new Promise((r) => setTimeout(r, 2 * LRS_MS));
      expect(spilling()).toBe(false);

      const victim = rig.inHouse[2]!;
      const port = victim.port;
      let reportAt = await nextReport();
      await victim.close();
      await waitFor(() => capacity() <= 8, LRS_MS, "Spillway's in-house capacity to drop");
      const downMs = Date.now() - reportAt;
      // Operators see what the probe says: GetState's read model and the metrics.
      const probeOf = (): boolean | undefined =>
        rig.app.read.service('echo')!.inHouse.find((e) => e.endpoint === `127.0.0.1:${port}`)?.probeUp;
      expect(probeOf()).toBe(false);
      const metrics = await (await fetch(`http://127.0.0.1:${rig.app.metricsPort}/metrics`)).text();
      expect(metrics).toContain(`spillway_in_house_probe_up{service="echo",endpoint="127.0.0.1:${port}"} 0`);
      await waitFor(spilling, 5000, 'Modal to take a share');
      await new Promise((r) => setTimeout(r, 2 * LRS_MS));
      expect(spilling()).toBe(true);

      reportAt = await nextReport();
      rig.inHouse[2] = await startHttpBackend('inhouse-c', { port });
      await waitFor(() => capacity() === 12, LRS_MS, 'capacity back when the host returns');
      const upMs = Date.now() - reportAt;
      expect(probeOf()).toBe(true);
      await waitFor(() => !spilling(), 2000, 'Modal to be released').catch((err: unknown) => {
        throw new Error(`${String(err)}; share ${share()}, decision: ${rig.app.controller?.current('echo')?.reason}`);
      });
      const fallMs = Date.now() - reportAt;
      console.log(`probe: capacity down ${downMs} ms and back ${upMs} ms after the last report; Modal released at ${fallMs} ms`);
      // The next report is ≈ 3 s after the last: both moves came from the probe.
      expect(downMs).toBeLessThan(LRS_MS - 1000);
      expect(fallMs).toBeLessThan(LRS_MS - 500);
      // Envoy runs the release (Modal soft-cordoned or gone) and really sends the revived host traffic.
      await waitFor(
        async () => {
          const modal = (await rig.envoy.localities('echo')).get('modal');
          return !modal || modal.health === ModalHealth.Degraded;
        },
        2000,
        'Envoy to run the release',
      );
      await waitFor(() => rig.inHouse[2]!.requests.some((r) => r.path !== '/healthz'), 3000, 'traffic on the revived host');
    } finally {
      await load.stop();
    }
  });
});
