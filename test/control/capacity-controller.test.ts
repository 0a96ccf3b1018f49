import { describe, expect, it } from 'vitest';
import { FOLLOW_UP_AFTER_MS } from '../../src/capacity/default-policy.js';
import type { Decision } from '../../src/capacity/types.js';
import { makePolicy } from '../../src/config/capacity-policy.js';
import { CapacityController } from '../../src/control/capacity-controller.js';
import { ModalAutoscalerActuator } from '../../src/modal/autoscaler-actuator.js';
import { inputs } from '../capacity/fixtures.js';
import { autoscalerSim, minContainerUpdates, simHandle } from '../support/modal-handle.js';
import { VirtualTime } from '../support/virtual-time.js';

function setup(offeredAt: (tMs: number) => number) {
  const vt = new VirtualTime();
  const start = vt.nowMs();
  const sim = autoscalerSim(vt);
  const handle = simHandle(sim, vt, 'svc');
  // The one actuator: 10 s between updates, Modal read back every 5 s.
  const actuator = new ModalAutoscalerActuator([handle], { clock: vt, scheduler: vt, minIntervalMs: 10_000, reconcileIntervalMs: 5_000 });
  const calls = () => minContainerUpdates(handle);
  const callTimes = () => calls().map((c) => c.atMs - start);
  const published: { service: string; d: Decision }[] = [];
  const ctl: CapacityController = new CapacityController({
    clock: vt,
    scheduler: vt,
    services: [{ service: 'svc', policy: makePolicy({ default: { prewarm: { cooldownMs: 30_000 } } }) }],
    readInputs: (service) => {
      const now = vt.nowMs();
      const d: Decision | undefined = ctl.current(service);
      const share: number = d && d.plan.modalHealth === 'HEALTHY' ? d.plan.modalWeight / 1000 : 0;
      return inputs(now, { offered: offeredAt(now - start), modalShare: share, runners: 12, runningInputs: 20, inputHeadroom: 80 });
    },
    onDecision: (service, d) => published.push({ service, d }),
    autoscaler: actuator,
    tickMs: 1000,
  });
  return { vt, start, ctl, sim, handle, actuator, published, calls, callTimes };
}

describe('CapacityController in virtual time', () => {
  it('ticks on the scheduler, publishes only changes, pre-warms and releases through the actuator', async () => {
    // 400 rps, a ramp to 1000 rps between 10 s and 40 s, back to 300 rps at 100 s.
    const offered = (t: number): number => (t < 10_000 ? 400 : t < 40_000 ? 400 + (t - 10_000) / 50 : t < 100_000 ? 1000 : 300);
    const { vt, ctl, sim, handle, actuator, published, calls, callTimes, start } = setup(offered);
    ctl.start();
    await vt.advance(5_000);
    expect(ctl.current('svc')?.mode).toBe('in-house');
    expect(published).toHaveLength(1); // the first decision only; nothing changed since
    expect(handle.updates).toEqual([]); // nothing to pre-warm, Modal's deployed settings left alone

    await vt.advance(60_000);
    expect(ctl.current('svc')?.mode).toBe('spilling');
    expect(published.length).toBeGreaterThan(1);
    expect(published.every((p) => p.d.reason.length > 0 && p.service === 'svc')).toBe(true);
    expect(calls().filter((c) => c.minContainers > 0).length).toBeGreaterThan(0);
    // Pre-warm fired while demand was still under the in-house target (it trends towards it).
    const firstSpill = published.find((p) => p.d.mode === 'spilling')!.d.atMs - start;
    expect(sim.currentSettings().minContainers).toBeGreaterThan(0);
    expect(callTimes()[0]).toBeLessThan(firstSpill);

    await vt.advance(120_000);
    expect(calls().at(-1)!.minContainers).toBe(0);
    expect(sim.currentSettings().minContainers).toBe(0);
    expect(ctl.current('svc')?.plan.modalWeight).toBe(0);
    ctl.stop();
    actuator.close();
    const n = handle.updates.length;
    await vt.advance(30_000);
    expect(handle.updates.length).toBe(n);
  });

  it('re-applies min_containers after a deploy reset it, and retries a failed update once the spacing allows', async () => {
    const { vt, ctl, sim, handle, actuator, calls } = setup(() => 1200);
    handle.failNext = 1;
    actuator.startReconciling();
    ctl.start();
    await vt.advance(1_500);
    expect(calls()).toHaveLength(1); // failed
    const failedAt = calls()[0]!.atMs;
    await vt.advance(3_000);
    expect(calls()).toHaveLength(2); // a raise: retried after the short (2 s) spacing
    expect(calls()[1]!.atMs - failedAt).toBeGreaterThanOrEqual(2_000);
    const wanted = calls()[1]!.minContainers;
    expect(wanted).toBeGreaterThan(0);
    expect(sim.currentSettings().minContainers).toBe(wanted);
    // A deploy wipes the override; the actuator's read-back (every 5 s) notices and puts it back.
    await vt.advance(7_000);
    sim.updateSettings({ minContainers: 0 });
    const resetAt = vt.nowMs();
    await vt.advance(6_000);
    expect(calls()).toHaveLength(3);
    expect(calls()[2]!.minContainers).toBe(wanted);
    expect(calls()[2]!.atMs - resetAt).toBeLessThanOrEqual(5_000);
    expect(sim.currentSettings().minContainers).toBe(wanted);
    ctl.stop();
    actuator.close();
  });

  it('keeps ticking other services when one read throws', async () => {
    const vt = new VirtualTime();
    const seen: string[] = [];
    const ctl = new CapacityController({
      clock: vt,
      scheduler: vt,
      tickMs: 1000,
      services: [
        { service: 'bad', policy: makePolicy() },
        { service: 'svc', policy: makePolicy({ name: 'seed' }) },
      ],
      readInputs: (s) => {
        if (s === 'bad') throw new Error('boom');
        return inputs(vt.nowMs(), {});
      },
      onDecision: (s, d) => seen.push(`${s}:${d.policy}`),
    });
    ctl.start();
    await vt.advance(3000);
    expect(seen).toEqual(['svc:seed']);
    ctl.stop();
  });

  it('a nudge (new input) decides within milliseconds instead of waiting for the next tick, coalescing bursts', async () => {
    const vt = new VirtualTime();
    const start = vt.nowMs();
    let runners = 12;
    const published: Decision[] = [];
    const ctl = new CapacityController({
      clock: vt,
      scheduler: vt,
      // Warm capacity alone (no wait budget): losing containers must lower the share.
      services: [{ service: 'svc', policy: makePolicy({ default: { modalWaitBudgetMs: 0 } }) }],
      readInputs: () => {
        const d: Decision | undefined = ctl.current('svc');
        const share: number = d && d.plan.modalHealth === 'HEALTHY' ? d.plan.modalWeight / 1000 : 0;
        return inputs(vt.nowMs(), { offered: 1500, modalShare: share, runners, runningInputs: runners * 2, inputHeadroom: runners * 8 });
      },
      onDecision: (_s, d) => published.push(d),
      tickMs: 1000,
    });
    ctl.start();
    await vt.advance(30_000); // settled, spilling
    expect(ctl.current('svc')?.mode).toBe('spilling');
    const before = published.length;
    runners = 2; // Modal loses most of its containers right after a tick
    await vt.advance(10);
    for (let i = 0; i < 5; i++) ctl.nudge(); // several inputs arrive together
    await vt.advance(50);
    expect(published.length).toBe(before + 1); // one decision for the burst, within 60 ms
    expect(published.at(-1)!.atMs - start).toBeLessThan(30_100);
    expect(published.at(-1)!.plan.modalWeight).toBeLessThan(published[before - 1]!.plan.modalWeight);
    ctl.stop();
    expect(vt.pending()).toBe(0);
  });

  it("hands a decision's request for an early load report to the LRS side, once per report that asks", async () => {
    const vt = new VirtualTime();
    const start = vt.nowMs();
    // Reports once a second (observed on the whole second); 24 rps, then 38 rps from 10 s.
    const reportAt = (now: number): number => start + Math.floor((now - start) / 1000) * 1000;
    const offered = (at: number): number => (at - start < 10_000 ? 24 : 38);
    const asked: Array<{ service: string; afterMs: number; atMs: number }> = [];
    const ctl = new CapacityController({
      clock: vt,
      scheduler: vt,
      services: [{ service: 'svc', policy: makePolicy({}) }],
      readInputs: () => {
        const at = reportAt(vt.nowMs());
        const rps = offered(at);
        return inputs(at, {
          offered: rps,
          offeredNoiseRps: Math.sqrt(rps),
          capacity: 6,
          runners: 12,
          runningInputs: 20,
          inputHeadroom: 80,
        });
      },
      onDecision: () => {},
      loadReports: { followUp: (service, afterMs) => void asked.push({ service, afterMs, atMs: vt.nowMs() - start }) },
      tickMs: 250,
    });
    ctl.start();
    await vt.advance(9_900);
    expect(asked).toEqual([]);
    await vt.advance(3_000);
    // The report at 10 s rose by 2.3 σ: asked once (four ticks see that report), and not for the same level again.
    expect(asked).toEqual([{ service: 'svc', afterMs: FOLLOW_UP_AFTER_MS, atMs: 10_000 }]);
    ctl.stop();
  });
});
