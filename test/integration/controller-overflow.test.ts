import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spillingWithRoom } from '../support/decisions.js';
import { startOpenLoad } from '../support/open-loop.js';
import { waitFor } from '../../tools/wait-for.js';
import { envoyModalLocality, startControllerRig, type ControllerRig } from './controller-harness.js';

// In-house: 8 slots at 200 ms ⇒ 40 rps of capacity, 32 rps at the 0.8 target.
describe('capacity controller with real Envoy and the fake Modal', () => {
  let rig: ControllerRig;
  beforeAll(async () => {
    rig = await startControllerRig({});
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  it('spills the overflow to Modal when in-house saturates, then drains Modal to nothing via the soft-cordon', async () => {
    expect(rig.app.controller?.current('echo')?.plan.modalWeight ?? 0).toBe(0);
    const load = startOpenLoad(rig.url(200), 60);
    try {
      // The Modal locality appears in Envoy and Modal serves part of the traffic.
      await waitFor(async () => (await envoyModalLocality(rig.envoy)).weight > 0, 20_000, 'Modal locality in Envoy');
      // While Modal is cold the excess waits in it for the containers starting (the default wait
      // budget); once they are warm Modal takes the whole excess and nothing is shed.
      const spilling = await waitFor(
        () => {
          const d = rig.app.controller!.current('echo')!;
          return spillingWithRoom(d) ? d : undefined;
        },
        20_000,
        'spilling with nothing shed',
      );
      expect(spilling.plan.dropPercent).toBe(0);
      expect(spilling.reason).toMatch(/Modal takes \d+ rps/);
      load.reset();
      await new Promise((r) => setTimeout(r, 4000));
      const s = load.stats();
      expect(s.byTier.modal).toBeGreaterThan(0.15 * s.sent);
      expect(s.byTier.inHouse).toBeGreaterThan(0.4 * s.sent);
      const recent = JSON.stringify(rig.decisions.slice(-12).map((d) => [d.mode, d.plan.dropPercent, d.reason]));
      expect(s.byTier.otherError + s.byTier.shed, `${JSON.stringify(s)} ${recent}`).toBeLessThan(0.02 * s.sent);

      // Demand falls well under in-house capacity: DEGRADED first, then the locality is removed.
      load.setRate(8);
      await waitFor(async () => (await envoyModalLocality(rig.envoy)).weight === 0, 30_000, 'Modal locality removed');
      const degradedAt = rig.decisions.findIndex((d) => d.plan.modalWeight > 0 && d.plan.modalHealth === 'DEGRADED');
      const removedAt = rig.decisions.findLastIndex((d) => d.plan.modalWeight === 0);
      expect(degradedAt).toBeGreaterThanOrEqual(0);
      expect(removedAt).toBeGreaterThan(degradedAt);
      load.reset();
      await new Promise((r) => setTimeout(r, 1500));
      expect(load.stats().byTier.modal).toBe(0);
      expect(load.stats().byTier.otherError).toBe(0);
    } finally {
      await load.stop();
    }
  });
});
