import { describe, expect, it } from 'vitest';
import { decide } from '../../src/capacity/decide.js';
import { makePolicy, type CapacityPolicy } from '../../src/config/capacity-policy.js';
import type { Decision } from '../../src/capacity/types.js';
import { inputs, T0, type Scenario } from './fixtures.js';

const policy = makePolicy();
const warm: Scenario = { runners: 12, runningInputs: 20, inputHeadroom: 80 }; // 100 inputs ≈ 769 rps

/** Ticks once per second for `seconds`, scenario chosen per second; returns every decision. */
function run(seconds: number, at: (t: number) => Scenario, p: CapacityPolicy = policy, from?: Decision): Decision[] {
  const out: Decision[] = [];
  let prev = from;
  const start = from ? from.atMs + 1000 : T0;
  for (let t = 0; t < seconds; t++) {
    const now = start + t * 1000;
    // Closed loop by default: LRS sees the split the previous plan made.
    const sc = at(t);
    const share = prev && prev.plan.modalHealth === 'HEALTHY' ? prev.plan.modalWeight / 1000 : 0;
    prev = decide(prev, inputs(now, { modalShare: share, ...sc }), now, p);
    out.push(prev);
  }
  return out;
}
const last = (d: Decision[]): Decision => d[d.length - 1]!;

describe('default policy', () => {
  it.each([
    ['below target stays in-house', 500, 0, 'in-house'],
    ['excess over target spills the excess share', 910, 297, 'spilling'],
    ['big excess is capped by Modal warm capacity', 2000, 385, 'spilling'],
  ])('%s', (_n, offered, weight, mode) => {
    const d = last(run(1, () => ({ offered, ...warm })));
    expect(d.mode).toBe(mode);
    expect(d.plan.modalWeight).toBeCloseTo(weight, -1);
    expect(d.reason.length).toBeGreaterThan(10);
  });

  it("Modal's rate limit is a ceiling beside warm capacity, named in the reason, and the excess past both tiers is shed", () => {
    // 769 rps of warm Modal capacity, but a workspace limit of 200 rps: at most 200 of 2000 rps go to Modal.
    const d = last(run(5, () => ({ offered: 2000, ...warm, rateLimitRps: 200 })));
    expect(d.plan.modalWeight).toBeLessThanOrEqual(100);
    expect(d.plan.modalWeight).toBeGreaterThanOrEqual(90);
    expect(d.reason).toContain("Modal's rate limit 200 rps");
    expect(d.inputs['modal_rate_limit_rps']?.value).toBe(200);
    // In-house max 760 rps + Modal 200 rps leaves 1040 of 2000 rps to shed.
    expect(d.mode).toBe('shedding');
    expect(d.reason).toContain('Modal at its rate limit 200 rps');
    expect(d.plan.dropPercent).toBeGreaterThanOrEqual(50);
    const unlimited = last(run(5, () => ({ offered: 2000, ...warm })));
    expect(unlimited.plan.modalWeight).toBeGreaterThan(300);
  });

  it('reason names offered demand, the in-house target and Modal headroom', () => {
    const d = last(run(1, () => ({ offered: 910, ...warm })));
    expect(d.reason).toMatch(
      /spilling 29\.7 %: offered 910 rps over in-house target 640 rps; Modal warm capacity 100 inputs \(headroom 80\)/,
    );
    expect(d.inputs['offered_rps']).toEqual({ value: 910, ageMs: 0 });
    expect(d.inputs['modal_input_headroom']?.ageMs).toBe(500);
  });

  it('decides from offered demand: the split it already made does not change the target', () => {
    const a = last(run(5, () => ({ offered: 1000, modalShare: 0, inHouseInProgress: 64, ...warm })));
    const b = last(run(5, () => ({ offered: 1000, modalShare: 0.36, inHouseInProgress: 64, ...warm })));
    const c = last(run(5, () => ({ offered: 900, modalShare: 0.2, dropped: 100, inHouseInProgress: 64, ...warm })));
    expect(a.plan.modalWeight).toBe(b.plan.modalWeight);
    expect(a.plan.modalWeight).toBe(c.plan.modalWeight);
    expect(a.plan.modalWeight).toBeCloseTo(360, -1);
  });

  it('counts drops as offered demand', () => {
    const d = last(run(1, () => ({ offered: 800, dropped: 200, ...warm })));
    expect(d.plan.modalWeight).toBeCloseTo(360, -1);
  });

  it('fast up, hold, then slow down', () => {
    const up = run(30, () => ({ offered: 1000, ...warm }));
    const peak = last(up).plan.modalWeight;
    const down = run(60, () => ({ offered: 500, ...warm }), policy, last(up));
    // Inside the 30 s hold window nothing moves.
    expect(down.slice(0, 25).every((d) => d.plan.modalWeight === peak)).toBe(true);
    // Then it steps down at slew_down_per_s (0.02/s → 20 weight units a tick); a published step
    // may bunch up to the dead band (30 units) of those.
    const weights = down.map((d) => d.plan.modalWeight);
    for (let i = 1; i < weights.length; i++) expect(weights[i - 1]! - weights[i]!).toBeLessThanOrEqual(20 + 30 + 1);
    const firstMove = weights.findIndex((w) => w < peak);
    const fell = peak - weights[firstMove + 10]!;
    expect(fell).toBeLessThanOrEqual(10 * 20 + 30);
    expect(down.some((d) => d.mode === 'draining')).toBe(true);
  });

  it('the Modal cap always wins at once, even on the way down', () => {
    const up = run(10, () => ({ offered: 1000, ...warm }));
    const d = last(run(1, () => ({ offered: 1000, runners: 2, runningInputs: 10, inputHeadroom: 0 }), policy, last(up)));
    // 10 inputs / 0.13 s ≈ 77 rps of 1000.
    expect(d.plan.modalWeight).toBeLessThanOrEqual(77);
  });

  it('dead band: small demand wiggles are not republished', () => {
    const d = run(40, (t) => ({ offered: 1000 + (t % 2 === 0 ? 5 : -5), ...warm }));
    const changes = d.slice(5).filter((x) => x.changed).length;
    expect(changes).toBe(0);
  });

  it('soft-cordon: DEGRADED while draining, aborted if demand returns, removed once Modal is empty', () => {
    const up = run(10, () => ({ offered: 700, ...warm }));
    const down = run(120, () => ({ offered: 300, ...warm, modalInProgress: 3 }), policy, last(up));
    const firstDrain = down.findIndex((d) => d.mode === 'draining');
    expect(firstDrain).toBeGreaterThan(0);
    expect(down[firstDrain]!.plan.modalHealth).toBe('DEGRADED');
    expect(down[firstDrain]!.plan.modalWeight).toBeGreaterThanOrEqual(1);
    // Modal still has work in flight: stays cordoned rather than removed.
    expect(last(down).mode).toBe('draining');
    // Demand comes back: the fast window (5 s) notices within a few ticks.
    const back = run(8, () => ({ offered: 900, ...warm }), policy, last(down));
    expect(last(back).plan.modalHealth).toBe('HEALTHY');
    expect(last(back).mode).toBe('spilling');
    const empty = run(40, () => ({ offered: 300, ...warm, modalInProgress: 0 }), policy, last(down));
    expect(last(empty).plan.modalWeight).toBe(0);
    expect(last(empty).mode).toBe('in-house');
  });

  it('sheds deliberately, sized to the excess, when both tiers are full', () => {
    const full = { runners: 40, runningInputs: 400, inputHeadroom: 0 };
    const d = last(run(3, () => ({ offered: 5000, ...full })));
    // in-house max 0.95 × 800 = 760 rps; Modal 400 inputs / 0.13 s ≈ 3077 rps.
    expect(d.mode).toBe('shedding');
    expect(d.plan.dropPercent).toBe(Math.ceil((100 * (5000 - 760 - 3077)) / 5000));
    expect(d.reason).toMatch(/^shedding/);
  });

  it('does not shed while Modal can still grow', () => {
    const d = last(run(3, () => ({ offered: 3000, runners: 2, runningInputs: 20, inputHeadroom: 0 })));
    expect(d.plan.dropPercent).toBe(0);
  });

  it('unobservable Modal, mode zero: removes the Modal locality at once', () => {
    const p = makePolicy({ default: { unobservable: 'zero' } });
    const up = run(10, () => ({ offered: 1000, ...warm }), p);
    const d = last(run(1, () => ({ offered: 1000, ...warm, failures: 3, statsAgeMs: 9000, modalShare: 0.36 }), p, last(up)));
    expect(d.mode).toBe('fail-safe');
    expect(d.plan.modalWeight).toBe(0);
  });

  it('unobservable Modal, mode decay: keeps spilling at decaying capacity while LRS says Modal answers well', () => {
    const p = makePolicy({ default: { decayTauMs: 60_000 } });
    const up = run(10, () => ({ offered: 1000, modalShare: 0.36, ...warm }), p);
    const out = run(60, (t) => ({ offered: 1000, modalShare: 0.36, ...warm, statsAgeMs: 20_000 + t * 1000 }), p, last(up));
    expect(out[0]!.plan.modalWeight).toBeGreaterThan(0);
    expect(out[0]!.reason).toMatch(/decaying trusted capacity/);
    // Trusted capacity decays (τ 60 s) from the last verified 100 inputs, verified ~60 s earlier:
    // 100·e^(-1) ≈ 37 inputs ≈ 283 rps of 1000.
    expect(last(out).plan.modalWeight).toBeLessThan(out[0]!.plan.modalWeight);
    expect(last(out).plan.modalWeight).toBeGreaterThan(250);
    expect(last(out).plan.modalWeight).toBeLessThan(300);
    // Modal errors on the data plane: give up at once.
    const bad = last(run(1, () => ({ offered: 1000, modalShare: 0.3, modalErrorRps: 100, ...warm, statsAgeMs: 90_000 }), p, last(out)));
    expect(bad.plan.modalWeight).toBe(0);
    expect(bad.mode).toBe('fail-safe');
  });

  it('pre-warm: raises min_containers ahead of the crossing, releases after the cool-down', () => {
    // Demand ramps 400 → 634 rps in 40 s: still below the 640 rps target when pre-warm fires.
    const ramp = run(40, (t) => ({ offered: 400 + 6 * t }));
    const fired = ramp.findIndex((d) => (d.autoscaler?.minContainers ?? 0) > 0);
    expect(fired).toBeGreaterThanOrEqual(0);
    expect(ramp[fired]!.plan.modalWeight).toBe(0);
    expect(ramp[fired]!.autoscaler!.reason).toMatch(/pre-warm/);
    const calm = run(90, () => ({ offered: 300 }), policy, last(ramp));
    expect(calm[10]!.autoscaler!.minContainers).toBeGreaterThan(0);
    expect(last(calm).autoscaler!.minContainers).toBe(0);
  });

  it('cost cap: once the hourly container-seconds budget is spent, stops spilling and sheds', () => {
    const p = makePolicy({ default: { costCapContainerSecondsPerHour: 100 } });
    const d = run(15, () => ({ offered: 1500, ...warm }), p);
    expect(d[0]!.mode).toBe('spilling');
    const after = last(d);
    expect(after.plan.modalHealth === 'DEGRADED' || after.plan.modalWeight === 0).toBe(true);
    expect(after.plan.dropPercent).toBeGreaterThan(0);
  });

  it('trims the in-house budget when measured concurrency stays above target', () => {
    const base = last(run(5, () => ({ offered: 900, ...warm })));
    // In-house holds 76 in flight (0.95) while it should hold 64: slower than modelled.
    const trimmed = last(run(60, () => ({ offered: 900, inHouseInProgress: 76, ...warm }), policy, base));
    expect(trimmed.plan.modalWeight).toBeGreaterThan(base.plan.modalWeight + 30);
  });
});
