// Autoscaler actuation: rate limit, read-back and re-apply after drift, over a handle backed by the sim.
import { describe, expect, it } from 'vitest';
import { ModalAutoscalerActuator } from '../../src/modal/autoscaler-actuator.js';
import type { AutoscalerSim } from '../../tools/fake-modal/autoscaler-sim.js';
import { autoscalerSim, simHandle, type SimHandle } from '../support/modal-handle.js';
import { VirtualTime } from '../support/virtual-time.js';

function setup(): { vt: VirtualTime; sim: AutoscalerSim; handle: SimHandle; act: ModalAutoscalerActuator } {
  const vt = new VirtualTime(0);
  const sim = autoscalerSim(vt);
  const handle = simHandle(sim, vt);
  const act = new ModalAutoscalerActuator([handle], { clock: vt, scheduler: vt, minIntervalMs: 10_000, reconcileIntervalMs: 5_000 });
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
    expect(handle.updates).toEqual([
      { minContainers: 1, atMs: 0 },
      { minContainers: 4, atMs: 10_000 },
    ]);
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

  it('reads Modal back on its own timer and re-applies an intent a deploy reset', async () => {
    const { vt, sim, handle, act } = setup();
    act.startReconciling();
    await act.apply('shop', { minContainers: 3 });
    sim.updateSettings({ minContainers: 0 });
    await vt.advance(5_000);
    expect(sim.currentSettings().minContainers).toBe(0); // read back, but the 10 s spacing holds the re-apply
    await vt.advance(5_000);
    expect(sim.currentSettings().minContainers).toBe(3);
    act.close();
    const sent = handle.updates.length;
    await vt.advance(60_000);
    expect(handle.updates).toHaveLength(sent); // closed: no more read-backs
  });
});
