import { afterEach, describe, expect, it } from 'vitest';
import { startOpenLoad } from '../support/open-loop.js';
import { waitFor } from '../../tools/wait-for.js';
import { envoyModalLocality, startControllerRig, type ControllerRig } from './controller-harness.js';

describe('capacity controller when Modal cannot be observed', () => {
  let rig: ControllerRig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('unobservable=zero: a stats outage takes Modal out (fail-safe), and it comes back when stats recover', async () => {
    rig = await startControllerRig({ capacity: { unobservable: 'zero', fail_after_errors: 2 } });
    const load = startOpenLoad(rig.url(200), 60);
    try {
      await waitFor(async () => (await envoyModalLocality(rig!.envoy)).weight > 0, 20_000, 'spilling to Modal');
      rig.fake.setFaults({ statsError: 'UNAVAILABLE' });
      await waitFor(() => rig!.app.controller!.current('echo')?.mode === 'fail-safe', 10_000, 'fail-safe mode');
      await waitFor(async () => (await envoyModalLocality(rig!.envoy)).weight === 0, 10_000, 'Modal locality removed');
      const failSafe = rig.app.controller!.current('echo')!;
      expect(failSafe.plan.modalWeight).toBe(0);
      expect(failSafe.reason.toLowerCase()).toMatch(/modal|stats|observ|error/);
      expect(rig.app.modal!.poller.status('echo')!.consecutiveFailures).toBeGreaterThanOrEqual(2);

      rig.fake.setFaults({});
      await waitFor(async () => (await envoyModalLocality(rig!.envoy)).weight > 0, 20_000, 'spilling again after recovery');
    } finally {
      await load.stop();
    }
  });

  it('unobservable=decay: frozen-out stats keep spilling at the last verified capacity while Modal answers well', async () => {
    rig = await startControllerRig({ capacity: { unobservable: 'decay', fail_after_errors: 2 } });
    const load = startOpenLoad(rig.url(200), 60);
    try {
      await waitFor(async () => (await envoyModalLocality(rig!.envoy)).weight > 0, 20_000, 'spilling to Modal');
      // Let Modal be verified serving (live runners in its stats, requests answered) first.
      await waitFor(
        () => (rig!.app.modal!.poller.status('echo')?.last?.runners ?? 0) > 0 && load.stats().byTier.modal > 20,
        20_000,
        'Modal verified serving',
      );
      rig.fake.setFaults({ statsError: 'UNAVAILABLE' });
      await waitFor(() => (rig!.app.modal!.poller.status('echo')?.consecutiveFailures ?? 0) >= 3, 10_000, 'stats failing');
      await new Promise((r) => setTimeout(r, 1500));
      const d = rig.app.controller!.current('echo')!;
      expect(d.plan.modalWeight).toBeGreaterThan(0);
      expect((await envoyModalLocality(rig.envoy)).weight).toBeGreaterThan(0);
      load.reset();
      await new Promise((r) => setTimeout(r, 1500));
      expect(load.stats().byTier.modal).toBeGreaterThan(0);
    } finally {
      await load.stop();
    }
  });
});
