import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenLoad } from '../support/open-loop.js';
import { waitFor } from '../../tools/wait-for.js';
import { startControllerRig, type ControllerRig } from './controller-harness.js';

// In-house: 8 slots at 200 ms ⇒ 40 rps of capacity, 32 rps at the 0.8 target.
describe('capacity controller pre-warms Modal through the real SDK', () => {
  let rig: ControllerRig;
  beforeAll(async () => {
    rig = await startControllerRig({
      // A long cold start: only a pre-warm ahead of the spill avoids it.
      modal: { coldStartMs: 4000 },
      capacity: { prewarm: { enabled: true, horizon_ms: 10_000, base_min_containers: 0, cooldown_ms: 4000 } },
    });
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  const minContainers = (): number => rig.fake.state().functions[0]!.settings.minContainers;

  it('raises min_containers on Modal as demand trends toward the in-house limit, survives a deploy, then releases it', async () => {
    expect(minContainers()).toBe(0);
    const load = startOpenLoad(rig.url(200), 10);
    try {
      // Ramp 10 → 34 rps: still under the in-house limit, trending toward it.
      for (let rps = 10; rps <= 34; rps += 4) {
        load.setRate(rps);
        await new Promise((r) => setTimeout(r, 1000));
      }
      await waitFor(() => minContainers() > 0, 15_000, 'Modal min_containers raised by the pre-warm');
      const decision = rig.app.controller!.current('echo')!;
      expect(decision.autoscaler?.reason ?? '').toMatch(/pre-warm/);
      // Containers start before any spill needs them.
      await waitFor(() => rig.fake.state().functions[0]!.stats.runners > 0, 10_000, 'Modal containers starting');

      // A deploy resets Modal's autoscaler; Spillway reads it back and re-applies its intent.
      const raised = minContainers();
      rig.fake.redeploy();
      expect(minContainers()).toBe(0);
      await waitFor(() => minContainers() === raised, 10_000, 'pre-warm re-applied after the deploy');

      // Demand falls away: after the cool-down the intent returns to the base.
      load.setRate(5);
      await waitFor(() => minContainers() === 0, 40_000, 'min_containers released to the base');
    } finally {
      await load.stop();
    }
  });
});
