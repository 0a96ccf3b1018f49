// Seeding the write side with restored state, in virtual time: the controller resumes from its
// memory, an override runs for the time it had left, and when it ends the controller's plan (not the
// static one) is published again.
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/capacity/decide.js';
import type { ControllerInputs, Decision } from '../../src/capacity/types.js';
import { makePolicy } from '../../src/config/capacity-policy.js';
import { CapacityController } from '../../src/control/capacity-controller.js';
import { OverrideStore } from '../../src/control/override-store.js';
import { PlanRouter } from '../../src/control/plan-router.js';
import type { Publisher } from '../../src/control/publisher.js';
import type { TrafficPlan } from '../../src/model/traffic-plan.js';
import { inputs } from '../capacity/fixtures.js';
import { VirtualTime } from '../support/virtual-time.js';

const policy = makePolicy({});

function remembered(atMs: number): Decision {
  let d: Decision | undefined;
  for (let t = atMs - 30_000; t <= atMs; t += 1000) {
    const share = d ? d.plan.modalWeight / 1000 : 0;
    d = decide(d, inputs(t, { offered: 900, modalShare: share, runners: 12, runningInputs: 20, inputHeadroom: 80 }), t, policy);
  }
  return d!;
}

function publisherLog(): Publisher & { assigned: Map<string, TrafficPlan | undefined>; sets: number } {
  const p = {
    assigned: new Map<string, TrafficPlan | undefined>(),
    sets: 0,
    assignedPlan: (s: string) => p.assigned.get(s),
    setPlan(s: string, plan: TrafficPlan | undefined) {
      p.sets++;
      p.assigned.set(s, plan);
      return { ok: true, changed: new Set(), errors: [] };
    },
  };
  return p as unknown as Publisher & { assigned: Map<string, TrafficPlan | undefined>; sets: number };
}

describe('resuming the controller from its memory', () => {
  it('holds the restored plan while no load is reported, then decides from the restored memory', async () => {
    const vt = new VirtualTime();
    const before = remembered(vt.nowMs() - 2_000);
    const reported: { load?: ControllerInputs } = {};
    const published: Decision[] = [];
    const ctl = new CapacityController({
      clock: vt,
      scheduler: vt,
      services: [{ service: 'svc', policy }],
      readInputs: () =>
        reported.load ?? ({ ...inputs(vt.nowMs()), inHouse: undefined, modal: undefined, drops: undefined } as ControllerInputs),
      onDecision: (_s, d) => published.push(d),
      tickMs: 1000,
    });
    ctl.seed('svc', before, vt.nowMs() - 2_000);
    expect(ctl.memory('svc')).toEqual({ decision: { ...before, changed: false }, asOfMs: vt.nowMs() - 2_000 });
    ctl.start();
    await vt.advance(5_000);
    // No Envoy has reported yet: nothing is published, the plan held, the memory kept current.
    expect(published).toEqual([]);
    expect(ctl.current('svc')!.plan).toEqual(before.plan);
    expect(ctl.memory('svc')!.asOfMs).toBe(vt.nowMs());

    // Load comes back unchanged: the controller carries on from its memory (no cold start from zero).
    const share = before.plan.modalWeight / 1000;
    reported.load = inputs(vt.nowMs(), { offered: 900, modalShare: share, runners: 12, runningInputs: 20, inputHeadroom: 80 });
    await vt.advance(1_000);
    const now = ctl.current('svc')!;
    expect(Math.abs(now.plan.modalWeight - before.plan.modalWeight)).toBeLessThanOrEqual(30);
    ctl.stop();
  });

  it('refuses to seed a service it does not drive', () => {
    const vt = new VirtualTime();
    const ctl = new CapacityController({ clock: vt, scheduler: vt, services: [], readInputs: () => undefined, onDecision: () => {} });
    expect(() => ctl.seed('ghost', remembered(vt.nowMs()), vt.nowMs())).toThrow(/unknown service 'ghost'/);
  });
});

describe('resuming an override', () => {
  it("runs for the time it had left; when it ends the restored controller's plan is published, not the static one", async () => {
    const vt = new VirtualTime();
    const pub = publisherLog();
    const overrides = new OverrideStore(vt, vt);
    const router = new PlanRouter(pub, overrides);
    const decision = remembered(vt.nowMs());
    router.seedDecision('svc', decision);
    overrides.restore({ service: 'svc', share: 0.4, reason: 'load test', setAtMs: vt.nowMs() - 50_000, expiresAtMs: vt.nowMs() + 10_000 });
    expect(router.source('svc')).toBe('OVERRIDE');
    expect(pub.sets).toBe(0); // restored with the plan already published
    await vt.advance(9_999);
    expect(overrides.get('svc')?.share).toBe(0.4);
    await vt.advance(1);
    expect(overrides.get('svc')).toBeUndefined();
    expect(pub.assigned.get('svc')).toEqual(decision.plan);
    expect(router.source('svc')).toBe('CONTROLLER');
  });

  it('an override that expired while Spillway was down is not restored', async () => {
    const vt = new VirtualTime();
    const overrides = new OverrideStore(vt, vt);
    overrides.restore({ service: 'svc', share: 0.4, reason: '', setAtMs: vt.nowMs() - 60_000, expiresAtMs: vt.nowMs() - 1 });
    expect(overrides.get('svc')).toBeUndefined();
    expect(vt.pending()).toBe(0);
  });
});
