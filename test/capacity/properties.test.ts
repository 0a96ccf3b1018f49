import { describe, expect, it } from 'vitest';
import { decide } from '../../src/capacity/decide.js';
import { makePolicy, type CapacityPolicy } from '../../src/config/capacity-policy.js';
import type { Decision } from '../../src/capacity/types.js';
import { WEIGHT_TOTAL } from '../../src/model/traffic-plan.js';
import { mulberry32 } from '../../src/sim/prng.js';
import { inputs, T0, type Scenario } from './fixtures.js';

/** The simulator's seeded PRNG, so every run explores the same cases. */
const rng = mulberry32;

function randomWalk(seed: number, p: CapacityPolicy, ticks: number): { d: Decision; sc: Scenario }[] {
  const r = rng(seed);
  let offered = 200 + r() * 1500;
  let runners = Math.floor(r() * 20);
  const out: { d: Decision; sc: Scenario }[] = [];
  let prev: Decision | undefined;
  for (let t = 0; t < ticks; t++) {
    offered = Math.max(0, offered * (0.85 + r() * 0.3) + (r() < 0.05 ? 1500 * r() : 0));
    runners = Math.max(0, Math.min(40, runners + Math.round((r() - 0.5) * 4)));
    const running = Math.floor(r() * runners * 10);
    const sc: Scenario = {
      offered,
      modalShare: prev && prev.plan.modalHealth === 'HEALTHY' ? prev.plan.modalWeight / WEIGHT_TOTAL : 0,
      runners,
      runningInputs: running,
      backlog: r() < 0.2 ? Math.floor(r() * 30) : 0,
      ...(r() < 0.7 ? { inputHeadroom: Math.max(0, runners * 10 - running) } : {}),
      failures: r() < 0.1 ? Math.floor(r() * 6) : 0,
      statsAgeMs: r() < 0.1 ? 30_000 : 400,
      modalInProgress: Math.floor(r() * 5),
      capacity: r() < 0.05 ? 56 : 80,
    };
    const now = T0 + t * 1000;
    prev = decide(prev, inputs(now, sc), now, p);
    out.push({ d: prev, sc });
  }
  return out;
}

describe.each([
  ['seed', makePolicy({ name: 'seed' })],
  ['default', makePolicy()],
  ['default/no-wait', makePolicy({ default: { modalWaitBudgetMs: 0 } })],
  ['default/zero', makePolicy({ default: { unobservable: 'zero' } })],
])('properties of %s', (_name, p) => {
  const runs = [1, 2, 3, 4, 5, 6].flatMap((seed) => randomWalk(seed, p, 300));

  it('never publishes a weight of 0 for a present locality, and weights sit on WEIGHT_TOTAL', () => {
    const bad = runs.filter(
      ({ d }) =>
        d.plan.inHouseWeight < 1 ||
        !(d.plan.modalWeight === 0 || d.plan.modalWeight >= 1) ||
        !Number.isInteger(d.plan.modalWeight) ||
        d.plan.inHouseWeight + d.plan.modalWeight !== WEIGHT_TOTAL ||
        d.plan.dropPercent < 0 ||
        d.plan.dropPercent > 100,
    );
    expect(bad.map(({ d }) => d.plan)).toEqual([]);
    // The walk does exercise spilling, so the check above is not vacuous.
    expect(runs.some(({ d }) => d.plan.modalWeight > 0)).toBe(true);
  });

  it('always carries a reason and the inputs it used with their ages', () => {
    const bad = runs.filter(
      ({ d }) => d.reason.trim().length <= 10 || d.inputs['offered_rps'] === undefined || d.inputs['modal_runners']?.ageMs === null,
    );
    expect(bad.map(({ d }) => d.reason)).toEqual([]);
  });
});

describe('properties of the default policy', () => {
  const p = makePolicy();
  const runs = [11, 12, 13, 14].flatMap((seed) => randomWalk(seed, p, 400));
  const noWait = makePolicy({ default: { modalWaitBudgetMs: 0 } });
  const noWaitRuns = [11, 12, 13, 14].flatMap((seed) => randomWalk(seed, noWait, 400));

  it.each([
    ['with no wait budget: warm capacity + bounded probe', noWait, noWaitRuns],
    ["with the default wait budget: that + the queue's room", p, runs],
  ])('never sends Modal more than it can take (%s), within quantisation and dead band', (_n, p, runs) => {
    const over = runs.filter(({ d }) => {
      if (d.plan.modalHealth !== 'HEALTHY' || d.plan.modalWeight === 0) return false;
      const capRps = d.inputs['modal_capacity_rps']!.value;
      // What Envoy really sends Modal: the weight's share of what it does not drop.
      const demand = d.inputs['planned_demand_rps']!.value;
      const sent = (1 - d.plan.dropPercent / 100) * (d.plan.modalWeight / WEIGHT_TOTAL) * demand;
      return sent > capRps + (p.default.deadBand + 0.002) * demand + 1;
    });
    expect(over.map(({ d }) => d.reason)).toEqual([]);
    expect(runs.filter(({ d }) => d.plan.modalWeight > 0).length).toBeGreaterThan(50);
  });

  it("never lets requests in Modal outgrow what Modal queues (2,000) on top of its containers' slots", () => {
    const rooms = runs.flatMap(({ d, sc }) => {
      // The containers this decision counted on, up or coming: their slots plus Modal's queue.
      const m = /(\d+) containers (?:warm|warm in [\d.]+ s), (\d+) more may wait in Modal/.exec(d.reason);
      return m ? [{ room: Number(m[2]), inModal: sc.modalInProgress ?? 0, max: Number(m[1]) * (sc.maxInputs ?? 10) + 2000 }] : [];
    });
    expect(rooms.length).toBeGreaterThan(20);
    expect(rooms.filter((x) => x.room + x.inModal > x.max)).toEqual([]);
  });

  it('at steady demand, nothing changes inside the hold window once settled', () => {
    for (const offered of [300, 700, 1000, 1400]) {
      let prev: Decision | undefined;
      const changed: boolean[] = [];
      for (let t = 0; t < 120; t++) {
        const now = T0 + t * 1000;
        const share = prev && prev.plan.modalHealth === 'HEALTHY' ? prev.plan.modalWeight / WEIGHT_TOTAL : 0;
        prev = decide(prev, inputs(now, { offered, modalShare: share, runners: 30, runningInputs: 50, inputHeadroom: 250 }), now, p);
        changed.push(prev.changed);
      }
      // Settles within a few ticks, then one hold window (30 s) and beyond without a push.
      expect(changed.slice(10).filter(Boolean)).toEqual([]);
    }
  });

  it('seed oscillates where default does not: same closed loop, pushes counted', () => {
    const count = (pol: CapacityPolicy): number => {
      let prev: Decision | undefined;
      let pushes = 0;
      for (let t = 0; t < 300; t++) {
        const now = T0 + t * 1000;
        const share = prev && prev.plan.modalHealth === 'HEALTHY' ? prev.plan.modalWeight / WEIGHT_TOTAL : 0;
        // 720 rps offered (0.9 of in-house); in-house concurrency follows the split it receives.
        const offered = 720;
        prev = decide(
          prev,
          inputs(now, {
            offered,
            modalShare: share,
            inHouseInProgress: offered * (1 - share) * 0.1,
            runners: 10,
            runningInputs: Math.round(offered * share * 0.13),
            inputHeadroom: 60,
          }),
          now,
          pol,
        );
        if (prev.changed) pushes++;
      }
      return pushes;
    };
    const seedPushes = count(makePolicy({ name: 'seed' }));
    const defaultPushes = count(p);
    expect(defaultPushes).toBeLessThanOrEqual(2);
    expect(seedPushes).toBeGreaterThan(5 * defaultPushes);
  });
});
