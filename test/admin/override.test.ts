import { describe, expect, it } from 'vitest';
import { OverrideStore } from '../../src/control/override-store.js';
import { PlanRouter } from '../../src/control/plan-router.js';
import type { Publisher } from '../../src/control/publisher.js';
import type { Decision } from '../../src/capacity/types.js';
import type { ServiceConfig } from '../../src/config/config-types.js';
import { planForShare, staticPlanFor, type TrafficPlan } from '../../src/model/traffic-plan.js';
import { VirtualTime } from '../support/virtual-time.js';
import { startAdminRig, unary } from './harness.js';

/** Just enough Publisher for the router: records the plan in force after every change (static share 0.2). */
function fakePublisher(): Publisher & { published: Array<[string, TrafficPlan]> } {
  const plans = new Map<string, TrafficPlan>();
  const published: Array<[string, TrafficPlan]> = [];
  const services = [{ name: 'echo', modal: { staticShare: 0.2 } }] as unknown as ServiceConfig[];
  const inForce = (s: string): TrafficPlan => plans.get(s) ?? staticPlanFor(services[0]!);
  return {
    published,
    currentServices: () => services,
    plan: inForce,
    assignedPlan: (s: string) => plans.get(s),
    setPlan(s: string, p: TrafficPlan | undefined) {
      if (p) plans.set(s, p);
      else plans.delete(s);
      published.push([s, inForce(s)]);
      return { ok: true, changed: new Set(), errors: [] };
    },
  } as unknown as Publisher & { published: Array<[string, TrafficPlan]> };
}

const decision = (share: number, atMs: number): Decision =>
  ({
    service: 'echo',
    atMs,
    policy: 'default',
    mode: share > 0 ? 'spilling' : 'in-house',
    plan: planForShare(share),
    reason: `want ${share}`,
    inputs: {},
    changed: true,
  }) as unknown as Decision;

describe('override routing', () => {
  it("while an override is active the controller's decisions are kept but not published; on expiry its latest is", async () => {
    const vt = new VirtualTime();
    const pub = fakePublisher();
    const store = new OverrideStore(vt, vt);
    const router = new PlanRouter(pub, store);

    router.decision('echo', decision(0.1, vt.nowMs()));
    expect(pub.published.at(-1)![1].modalWeight).toBe(100);
    expect(router.source('echo')).toBe('CONTROLLER');

    const r = router.override('echo', 0.5, 60_000, 'load test');
    expect(r.ok).toBe(true);
    expect(pub.published.at(-1)![1].modalWeight).toBe(500);
    expect(router.source('echo')).toBe('OVERRIDE');

    const before = pub.published.length;
    router.decision('echo', decision(0.3, vt.nowMs()));
    expect(pub.published.length).toBe(before);
    expect(router.latestDecision('echo')!.plan.modalWeight).toBe(300);

    await vt.advance(59_999);
    expect(store.get('echo')).toBeDefined();
    await vt.advance(1);
    expect(store.get('echo')).toBeUndefined();
    expect(router.source('echo')).toBe('CONTROLLER');
    expect(pub.published.at(-1)![1].modalWeight).toBe(300);
  });

  it('without a controller, expiry restores the plan in force before the override', async () => {
    const vt = new VirtualTime();
    const pub = fakePublisher();
    const store = new OverrideStore(vt, vt);
    const router = new PlanRouter(pub, store);
    router.override('echo', 0.9, 1000, '');
    router.override('echo', 0.7, 5000, 'extended');
    await vt.advance(1000);
    expect(store.get('echo')?.share).toBe(0.7);
    await vt.advance(4000);
    expect(store.get('echo')).toBeUndefined();
    expect(pub.published.at(-1)![1]).toEqual(planForShare(0.2));
  });

  it('an Override made over gRPC expires in (virtual) time and the static plan is published again', async () => {
    const vt = new VirtualTime();
    const rig = await startAdminRig({ deps: { clock: vt, scheduler: vt } });
    try {
      const { err } = await unary(rig.admin.Override.bind(rig.admin), { service: 'echo', share: 0.75, duration: { seconds: 90 } });
      expect(err).toBeUndefined();
      expect(rig.app.publisher.plan('echo')!.modalWeight).toBe(750);
      expect(rig.app.overrides.get('echo')!.expiresAtMs).toBe(vt.nowMs() + 90_000);
      await vt.advance(90_000);
      expect(rig.app.overrides.get('echo')).toBeUndefined();
      expect(rig.app.publisher.plan('echo')!.modalWeight).toBe(200);
      expect(rig.logs.some((l) => l['component'] === 'override' && l['why'] === 'expired')).toBe(true);
    } finally {
      await rig.close();
    }
  });
});
