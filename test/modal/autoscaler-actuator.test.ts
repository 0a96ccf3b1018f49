// Autoscaler actuation: rate limit, read-back and re-apply after drift, over a handle backed by the sim.
import { describe, expect, it } from 'vitest';
import { ModalAutoscalerActuator } from '../../src/modal/autoscaler-actuator.js';
import { ModalCallError } from '../../src/modal/errors.js';
import { ModalFailure } from '../../src/model/inputs.js';
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

  it('spaces updates (raises 2 s, lowers 10 s) and sends only the latest intent when the slot opens', async () => {
    const { vt, sim, handle, act } = setup();
    await act.apply('shop', { minContainers: 1 });
    await vt.advance(1_000);
    // A raise waits only for the short spacing: a step must not wait out the full interval.
    expect(await act.apply('shop', { minContainers: 3 })).toMatchObject({ outcome: 'deferred', deferredUntilMs: 2_000 });
    await act.apply('shop', { minContainers: 4 });
    await vt.advance(999);
    expect(handle.updates).toHaveLength(1);
    await vt.advance(1);
    expect(handle.updates.map((u) => u.minContainers)).toEqual([1, 4]);
    // Lowering waits for the full interval after the last update.
    expect(await act.apply('shop', { minContainers: 2 })).toMatchObject({ outcome: 'deferred', deferredUntilMs: 12_000 });
    await vt.advance(9_999);
    expect(handle.updates).toHaveLength(2);
    await vt.advance(1);
    expect(handle.updates.map((u) => u.minContainers)).toEqual([1, 4, 2]);
    expect(sim.currentSettings().minContainers).toBe(2);
    expect(act.lastResult('shop')?.outcome).toBe('applied');
  });

  it('never has two updates on the wire: an intent made meanwhile follows the reply', async () => {
    const { vt, handle, act } = setup();
    let release: () => void = () => {};
    const slow = handle.updateAutoscaler.bind(handle);
    handle.updateAutoscaler = (u) => {
      const reply = slow(u);
      return new Promise((res) => (release = () => res(reply)));
    };
    const first = act.apply('shop', { minContainers: 2 });
    await vt.advance(4_000); // slow, but within the call's time limit (5 s)
    expect(await act.apply('shop', { minContainers: 5 })).toMatchObject({ outcome: 'deferred' });
    expect(handle.updates).toHaveLength(1);
    handle.updateAutoscaler = slow;
    release();
    await first;
    await vt.advance(0);
    expect(handle.updates.map((u) => u.minContainers)).toEqual([2, 5]);
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
    await vt.advance(4_999);
    expect(sim.currentSettings().minContainers).toBe(0); // not yet read back
    await vt.advance(1);
    expect(sim.currentSettings().minContainers).toBe(3); // read back at 5 s and re-applied at once (a raise)
    act.close();
    const sent = handle.updates.length;
    await vt.advance(60_000);
    expect(handle.updates).toHaveLength(sent); // closed: no more read-backs
  });

  it('retries a failed update later each time, a rate limit later still, and stops when closed', async () => {
    const { vt, handle, act } = setup();
    const real = handle.updateAutoscaler.bind(handle);
    const tries: number[] = [];
    let answer: () => Promise<never> = () => Promise.reject(new ModalCallError(ModalFailure.Unavailable, 'UNAVAILABLE: down'));
    handle.updateAutoscaler = () => {
      tries.push(vt.nowMs());
      return answer();
    };
    // A lower intent (usual spacing 10 s): retried after 10, 20, 40 s, not every 10 s.
    expect(await act.apply('shop', { minContainers: 0, scaledownWindowMs: 60_000 })).toMatchObject({
      outcome: 'failed',
      failure: 'unavailable',
    });
    await vt.advance(75_000);
    expect(tries).toEqual([0, 10_000, 30_000, 70_000]);
    // Rate limited: the next wait starts one doubling further.
    answer = () => Promise.reject(new ModalCallError(ModalFailure.RateLimited, 'RESOURCE_EXHAUSTED: slow down'));
    await vt.advance(80_000);
    expect(tries.slice(4)).toEqual([150_000]);
    // Modal answers again: the update goes through and the waits start over.
    handle.updateAutoscaler = real;
    // Five failures, the last rate limited: 320 s (an outage's fifth wait would be 160 s).
    await vt.advance(245_000);
    expect(act.lastResult('shop')?.outcome).toBe('failed');
    await vt.advance(75_000);
    expect(act.lastResult('shop')?.outcome).toBe('applied');
    handle.updateAutoscaler = () => {
      tries.push(vt.nowMs());
      return answer();
    };
    const at = vt.nowMs();
    await vt.advance(10_000);
    expect(await act.apply('shop', { minContainers: 0, scaledownWindowMs: 120_000 })).toMatchObject({ outcome: 'failed' });
    expect(tries.at(-1)).toBe(at + 10_000);
    // Closed: nothing goes out again, whatever is still intended.
    act.close();
    const count = tries.length;
    await vt.advance(600_000);
    expect(tries).toHaveLength(count);
  });

  it('cuts a call that hangs, so the slot is free again: counted as a timeout and retried after the wait', async () => {
    const { vt, handle, act } = setup();
    const real = handle.updateAutoscaler.bind(handle);
    handle.updateAutoscaler = () => new Promise(() => {}); // a black-holed connection: no answer, ever
    const events: string[] = [];
    act.onCall((e) => events.push(`${e.call}:${e.failure ?? 'ok'}`));
    const pending = act.apply('shop', { minContainers: 2 });
    await vt.advance(5_000);
    expect(await pending).toMatchObject({ outcome: 'failed', failure: 'timeout', error: 'Modal autoscaler call timed out after 5000 ms' });
    expect(events).toEqual(['update:timeout']);
    // Modal answers again: the retry, 2 s after the failure (a raise's spacing), goes through.
    handle.updateAutoscaler = real;
    await vt.advance(1_999);
    expect(events).toEqual(['update:timeout']);
    await vt.advance(1);
    expect(act.lastResult('shop')?.outcome).toBe('applied');
    expect(events).toEqual(['update:timeout', 'update:ok']);
  });
});
