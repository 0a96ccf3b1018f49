import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenLoad } from '../support/open-loop.js';
import { waitFor } from '../../tools/wait-for.js';
import { startControllerRig, type ControllerRig } from './controller-harness.js';

describe('capacity controller when both tiers are full', () => {
  let rig: ControllerRig;
  beforeAll(async () => {
    // Modal can run one container of 4 inputs: ~18 rps at 220 ms; in-house ~40 rps.
    rig = await startControllerRig({ modal: { maxContainers: 1 }, maxContainers: 1 });
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  it('sheds the excess with fast 503s from drop_overloads, visible in LRS, instead of queueing', async () => {
    const load = startOpenLoad(rig.url(200), 120);
    try {
      await waitFor(() => (rig.app.controller!.current('echo')?.plan.dropPercent ?? 0) > 0, 25_000, 'shedding decision');
      expect(rig.app.controller!.current('echo')!.mode).toBe('shedding');
      load.reset();
      await new Promise((r) => setTimeout(r, 3000));
      const s = load.stats();
      expect(s.byTier.shed).toBeGreaterThan(0);
      // Envoy answers drops locally: far faster than the 200 ms the backends take.
      const sorted = [...s.shedLatenciesMs].sort((a, b) => a - b);
      expect(sorted[Math.floor(sorted.length * 0.9)]!).toBeLessThan(100);
      await waitFor(() => (rig.app.lrs.view.service('echo')?.drops.droppedRps ?? 0) > 0, 5_000, 'drops in LRS');
    } finally {
      await load.stop();
    }
  });
});
