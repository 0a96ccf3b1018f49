import { describe, expect, it } from 'vitest';
import { CapacityController, FakeAutoscalerActuator } from '../../src/capacity/controller.js';
import { makePolicy } from '../../src/capacity/policy-config.js';
import type { ControllerInputs, Decision } from '../../src/capacity/types.js';
import { VirtualTime } from '../support/virtual-time.js';
import { inputs } from './fixtures.js';

function setup(offeredAt: (tMs: number) => number) {
  const vt = new VirtualTime();
  const start = vt.nowMs();
  const actuator = new FakeAutoscalerActuator();
  const callTimes: number[] = [];
  const apply = actuator.apply.bind(actuator);
  actuator.apply = (u) => { callTimes.push(vt.nowMs() - start); return apply(u); };
  const published: { service: string; d: Decision }[] = [];
  let readback: ControllerInputs['modalAutoscaler'];
  const ctl = new CapacityController({
    clock: vt,
    scheduler: vt,
    services: [{ service: 'svc', policy: makePolicy({ default: { prewarm: { cooldownMs: 30_000 } } }) }],
    readInputs: (service) => {
      const now = vt.nowMs();
      const d = ctl.current(service);
      const share = d && d.plan.modalHealth === 'HEALTHY' ? d.plan.modalWeight / 1000 : 0;
      const i = inputs(now, { offered: offeredAt(now - start), modalShare: share, runners: 12, runningInputs: 20, inputHeadroom: 80 });
      return readback ? { ...i, modalAutoscaler: readback } : i;
    },
    onDecision: (service, d) => published.push({ service, d }),
    actuator,
    tickMs: 1000,
  });
  return { vt, start, ctl, actuator, published, callTimes, setReadback: (r: ControllerInputs['modalAutoscaler']) => (readback = r) };
}

describe('CapacityController in virtual time', () => {
  it('ticks on the scheduler, publishes only changes, pre-warms and releases through the actuator', async () => {
    // 400 rps, a ramp to 1000 rps between 10 s and 40 s, back to 300 rps at 100 s.
    const offered = (t: number): number => (t < 10_000 ? 400 : t < 40_000 ? 400 + (t - 10_000) / 50 : t < 100_000 ? 1000 : 300);
    const { vt, start, ctl, actuator, published, callTimes } = setup(offered);
    ctl.start();
    await vt.advance(5_000);
    expect(ctl.current('svc')?.mode).toBe('in-house');
    expect(published).toHaveLength(1); // the first decision only; nothing changed since
    expect(actuator.calls).toEqual([]); // nothing to pre-warm, Modal's deployed settings left alone

    await vt.advance(60_000);
    expect(ctl.current('svc')?.mode).toBe('spilling');
    expect(published.length).toBeGreaterThan(1);
    expect(published.every((p) => p.d.reason.length > 0 && p.service === 'svc')).toBe(true);
    const raised = actuator.calls.filter((c) => c.minContainers > 0);
    expect(raised.length).toBeGreaterThan(0);
    // Pre-warm fired while demand was still under the in-house target (it trends towards it).
    const firstSpill = published.find((p) => p.d.mode === 'spilling')!.d.atMs - start;
    expect(actuator.settings.get('svc')!.minContainers).toBeGreaterThan(0);
    expect(callTimes[0]).toBeLessThan(firstSpill);

    await vt.advance(120_000);
    expect(actuator.calls[actuator.calls.length - 1]).toEqual({ service: 'svc', minContainers: 0 });
    expect(ctl.current('svc')?.plan.modalWeight).toBe(0);
    ctl.stop();
    const n = actuator.calls.length;
    await vt.advance(30_000);
    expect(actuator.calls.length).toBe(n);
    expect(vt.pending()).toBe(0);
  });

  it('re-applies min_containers after a deploy reset it, rate-limited and retried after a failure', async () => {
    const { vt, start, ctl, actuator, setReadback } = setup(() => 1200);
    actuator.failNext = 1;
    ctl.start();
    await vt.advance(3_000);
    expect(actuator.calls).toHaveLength(1); // failed
    await vt.advance(5_000);
    expect(actuator.calls).toHaveLength(1); // not before the 10 s spacing
    await vt.advance(10_000);
    expect(actuator.calls).toHaveLength(2);
    const wanted = actuator.calls[1]!.minContainers;
    expect(actuator.settings.get('svc')?.minContainers).toBe(wanted);
    // A deploy wipes the override; the readback shows it and the controller puts it back.
    actuator.resetByDeploy('svc');
    setReadback({ minContainers: 0, observedAtMs: vt.nowMs() });
    await vt.advance(11_000);
    expect(actuator.calls).toHaveLength(3);
    expect(actuator.calls[2]!.minContainers).toBe(wanted);
    expect(vt.nowMs() - start).toBe(29_000);
  });

  it('keeps ticking other services when one read throws', async () => {
    const vt = new VirtualTime();
    const seen: string[] = [];
    const ctl = new CapacityController({
      clock: vt, scheduler: vt, tickMs: 1000,
      services: [{ service: 'bad', policy: makePolicy() }, { service: 'svc', policy: makePolicy({ policy: 'seed' }) }],
      readInputs: (s) => { if (s === 'bad') throw new Error('boom'); return inputs(vt.nowMs(), {}); },
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
      services: [{ service: 'svc', policy: makePolicy({}) }],
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
});
