// Autoscaler actuation: rate limit, read-back and re-apply after drift, over a handle backed by the sim.
import { describe, expect, it } from 'vitest';
import { ModalAutoscalerActuator } from '../../src/modal/autoscaler-actuator.js';
import { capacityActuatorFor } from '../../src/modal/capacity-actuator.js';
import type { AutoscalerSettings, ModalFunctionHandle } from '../../src/modal/types.js';
import { AutoscalerSim } from '../fake-modal/autoscaler-sim.js';
import { VirtualTime } from '../support/virtual-time.js';

/** A handle that applies updates to a sim the way Modal does: unset fields keep their value, windows in whole seconds. */
function simHandle(sim: AutoscalerSim): ModalFunctionHandle & { updates: AutoscalerSettings[] } {
  const updates: AutoscalerSettings[] = [];
  return {
    ref: { service: 'shop', appName: 'shop-app', functionName: 'web' },
    functionId: 'fu-1',
    updates,
    currentStats: () => Promise.reject(new Error('unused')),
    updateAutoscaler(s) {
      updates.push(s);
      const patch: Parameters<AutoscalerSim['updateSettings']>[0] = {};
      if (s.minContainers !== undefined) patch.minContainers = s.minContainers;
      if (s.maxContainers !== undefined) patch.maxContainers = s.maxContainers;
      if (s.bufferContainers !== undefined) patch.bufferContainers = s.bufferContainers;
      if (s.scaledownWindowMs !== undefined) patch.scaledownWindowMs = Math.trunc(s.scaledownWindowMs / 1000) * 1000;
      return Promise.resolve(sim.updateSettings(patch));
    },
  };
}

function setup(): { vt: VirtualTime; sim: AutoscalerSim; handle: ReturnType<typeof simHandle>; act: ModalAutoscalerActuator } {
  const vt = new VirtualTime(0);
  const sim = new AutoscalerSim(
    { mode: 'function', maxInputs: 2, targetInputs: 1, minContainers: 0, maxContainers: 5, bufferContainers: 0, scaledownWindowMs: 60_000, coldStartMs: 1_000 },
    vt,
    vt,
  );
  const handle = simHandle(sim);
  const act = new ModalAutoscalerActuator([handle], { clock: vt, scheduler: vt, minIntervalMs: 10_000 });
  return { vt, sim, handle, act };
}

describe('ModalAutoscalerActuator', () => {
  it('applies intended settings and keeps what Modal reports back', async () => {
    const { sim, act } = setup();
    const r = await act.apply('shop', { minContainers: 2, bufferContainers: 1, scaledownWindowMs: 30_500 });
    expect(r.outcome).toBe('applied');
    expect(r.current).toEqual({ minContainers: 2, maxContainers: 5, bufferContainers: 1, scaledownWindowMs: 30_000 });
    expect(sim.stats().runners).toBe(2);
    // Already in place: nothing is sent.
    expect((await act.apply('shop', { minContainers: 2 })).outcome).toBe('unchanged');
  });

  it('rate-limits updates and sends only the latest intent when the window opens', async () => {
    const { vt, sim, handle, act } = setup();
    await act.apply('shop', { minContainers: 1 });
    await vt.advance(1_000);
    const deferred = await act.apply('shop', { minContainers: 3 });
    expect(deferred).toMatchObject({ outcome: 'deferred', deferredUntilMs: 10_000 });
    await act.apply('shop', { minContainers: 4 });
    await vt.advance(8_999);
    expect(handle.updates).toHaveLength(1);
    await vt.advance(1);
    expect(handle.updates).toEqual([{ minContainers: 1 }, { minContainers: 4 }]);
    expect(sim.currentSettings().minContainers).toBe(4);
    expect(act.lastResult('shop')?.outcome).toBe('applied');
  });

  it('re-applies the intended settings after a deploy resets them', async () => {
    const { vt, sim, act } = setup();
    await act.apply('shop', { minContainers: 2, maxContainers: 4 });
    // A deploy puts the static configuration back behind Spillway's back.
    sim.updateSettings({ minContainers: 0, maxContainers: 5 });
    await vt.advance(10_000);
    const r = await act.reconcile('shop');
    expect(r.outcome).toBe('applied');
    expect(sim.currentSettings()).toMatchObject({ minContainers: 2, maxContainers: 4 });
    expect((await act.reconcile('shop')).outcome).toBe('unchanged');
  });

  it('reports a failed update without throwing', async () => {
    const { act, handle } = setup();
    handle.updateAutoscaler = () => Promise.reject(new Error('UNAVAILABLE: down'));
    const r = await act.apply('shop', { minContainers: 1 });
    expect(r).toMatchObject({ outcome: 'failed', error: 'UNAVAILABLE: down' });
  });

  it('serves the capacity controller through its AutoscalerActuator port', async () => {
    const { sim, act } = setup();
    const port = capacityActuatorFor(act);
    expect(await port.apply({ service: 'shop', minContainers: 3 })).toEqual({ minContainers: 3, maxContainers: 5, bufferContainers: 0, scaledownWindowMs: 60_000 });
    expect(sim.stats().runners).toBe(3);
    await expect(port.apply({ service: 'shop', minContainers: 1 })).rejects.toThrow(/deferred until 10000/);
  });
});
