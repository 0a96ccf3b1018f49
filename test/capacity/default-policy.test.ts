import { describe, expect, it } from 'vitest';
import { decide } from '../../src/capacity/decide.js';
import { FOLLOW_UP_AFTER_MS, initialDefaultState, trackStartingRunners, upgradeSavedState } from '../../src/capacity/default-policy.js';
import { makePolicy, type CapacityPolicy } from '../../src/config/capacity-policy.js';
import type { Decision } from '../../src/capacity/types.js';
import { inputs, silentInputs, T0, type Scenario } from './fixtures.js';

// Most cases pin what Modal takes from its warm and starting containers alone, with the wait budget
// (on by default) off; the budget has its own block below.
const policy = makePolicy({ default: { modalWaitBudgetMs: 0 } });
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

// The fixture's in-house fleet: 80 slots at 100 ms ⇒ 800 rps flat out, target 640 (0.8), max 720 (0.9).
// Warm Modal: 100 inputs at 130 ms ⇒ ≈ 769 rps.
describe('default policy', () => {
  it.each([
    ['below target stays in-house', 500, 0, 0, 'in-house'],
    ['excess over target spills exactly the excess', 910, 297, 0, 'spilling'],
    // Excess 1360 rps, Modal takes 769; in-house would get 1231 > 720: 511 rps (26 %) shed at the
    // edge, and Modal's weight is its 769 rps over the 1480 rps Envoy does not drop.
    ['big excess: Modal up to its warm capacity, the rest over in-house max shed', 2000, 520, 26, 'shedding'],
  ])('%s', (_n, offered, weight, drop, mode) => {
    const d = last(run(1, () => ({ offered, ...warm })));
    expect(d.mode).toBe(mode);
    expect(d.plan.modalWeight).toBeCloseTo(weight, -1);
    expect(d.plan.dropPercent).toBe(drop);
  });

  it('weights and drop compose the way Envoy applies them: each tier receives what the plan says', () => {
    const d = last(run(1, () => ({ offered: 2000, ...warm })));
    const passed = 2000 * (1 - d.plan.dropPercent / 100);
    const toModal = (passed * d.plan.modalWeight) / 1000;
    const toInHouse = passed - toModal;
    expect(toModal).toBeCloseTo(769, -1); // what Modal can take
    expect(toInHouse).toBeLessThanOrEqual(720 + 5); // never more than in-house max
    expect(d.inputs['modal_take_rps']!.value).toBeCloseTo(toModal, -1);
  });

  it("Modal's rate limit is a ceiling beside warm capacity, named in the reason; what neither tier takes is shed", () => {
    // 769 rps of warm Modal capacity, but a workspace limit of 200 rps: Modal is sent 200 of 2000 rps.
    const d = last(run(5, () => ({ offered: 2000, ...warm, rateLimitRps: 200 })));
    const passed = 2000 * (1 - d.plan.dropPercent / 100);
    expect((passed * d.plan.modalWeight) / 1000).toBeCloseTo(200, -1);
    expect(d.reason).toContain("Modal's rate limit 200 rps");
    expect(d.inputs['modal_rate_limit_rps']?.value).toBe(200);
    // In-house max 760 rps + Modal 200 rps leaves 1040 of 2000 rps to shed.
    expect(d.mode).toBe('shedding');
    expect(d.reason).toContain('Modal at its rate limit 200 rps');
    expect(d.plan.dropPercent).toBeGreaterThanOrEqual(50);
  });

  it('reason names offered demand, the in-house target, what Modal takes and its headroom', () => {
    const d = last(run(1, () => ({ offered: 910, ...warm })));
    expect(d.reason).toMatch(
      /spilling 29\.7 %: offered 910 rps over in-house target 640 rps; Modal takes 270 rps; Modal warm capacity 100 inputs \(headroom 80\)/,
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

  it('starts spilling only clearly over the target (hysteresis), and the start is at once', () => {
    expect(last(run(3, () => ({ offered: 655, ...warm }))).plan.modalWeight).toBe(0); // +2.3 %
    const step = run(2, () => ({ offered: 1000, ...warm }));
    expect(step[0]!.plan.modalWeight).toBeCloseTo(360, -1); // the first report after a step
  });

  it("a step must stand out of the reports' counting noise: a noisy report at a steady small rate is not one", () => {
    // A small service: 6 slots at 100 ms (target 48 rps, max 54). Steady 47 rps with 1 s reports:
    // the counts alone make ±7 rps. A report of 60 is 25 % over the target (a step by margin alone)
    // but 1.6 σ of its own noise: not a step, so nothing spills or sheds on it.
    const small = { capacity: 6, ...warm };
    const steady = run(10, () => ({ offered: 47, ...small, offeredNoiseRps: Math.sqrt(47) }));
    expect(last(steady).plan.modalWeight).toBe(0);
    const noisy = run(1, () => ({ offered: 60, ...small, offeredNoiseRps: Math.sqrt(60) }), policy, last(steady))[0]!;
    expect(noisy.plan).toMatchObject({ modalWeight: 0, dropPercent: 0 });
    expect(noisy.inputs['offered_noise_rps']!.value).toBeCloseTo(Math.sqrt(60), 1); // shown with the decision
    // Read as exact counts, the same report is a step and spills at once.
    const exact = run(1, () => ({ offered: 60, ...small }), policy, last(steady))[0]!;
    expect(exact.plan.modalWeight).toBeGreaterThan(0);
    // A real step (2×) clears the noise on its first report.
    const real = run(1, () => ({ offered: 96, ...small, offeredNoiseRps: Math.sqrt(96) }), policy, last(steady))[0]!;
    expect(real.mode).toBe('spilling');
  });

  it('at a small rate, the average must clear the start line and the maximum by its own counting noise', () => {
    // The small service again (target 48 rps, start line 52.8, max 54). Demand steps from 47 to 54 rps
    // and holds: the 5 s average reaches 54, over the start line and at the maximum — but at this
    // rate the average itself is only good to ±2.3 rps, so it is no evidence of being over either.
    // In-house can serve 60 rps: spilling here pays Modal for requests in-house would have served.
    const small = { capacity: 6, ...warm };
    const at = (t: number): number => (t < 10 ? 47 : 54);
    const noisy = run(40, (t) => ({ offered: at(t), ...small, offeredNoiseRps: Math.sqrt(at(t)) }));
    expect(noisy.every((d) => d.plan.modalWeight === 0 && d.plan.dropPercent === 0)).toBe(true);
    expect(last(noisy).reason).toMatch(/not clearly over the start line 53 rps, in-house max 54 rps/);
    // Nor is an average a little over the maximum, at 56 or 57 rps: neither spilled nor shed — in-house,
    // at 60 rps flat out, absorbs the band the average cannot tell from the maximum.
    for (const offered of [56, 57]) {
      const band = run(40, () => ({ offered, ...small, offeredNoiseRps: Math.sqrt(offered) }));
      expect(band.every((d) => d.plan.modalWeight === 0 && d.plan.dropPercent === 0)).toBe(true);
    }
    // With exact counts the same average is over the line, and spills.
    const exact = run(40, (t) => ({ offered: at(t), ...small }));
    expect(last(exact).mode).toBe('spilling');
    // Clearly over the target at the same small rate (60 rps, the fleet's whole capacity): spills.
    const clear = run(20, () => ({ offered: 60, ...small, offeredNoiseRps: Math.sqrt(60) }));
    expect(last(clear).mode).toBe('spilling');
    expect(last(clear).inputs['modal_take_rps']!.value).toBe(12);
  });

  it('the averages take in each load report once: a decision between reports does not move the plan', () => {
    // Reports each second, decisions on the report and on a tick half a second later. The tick sees
    // the same report again; were the averages to drift toward it, the weight would change on the
    // tick too — one more EDS push with nothing new to go on.
    const base = last(run(20, () => ({ offered: 500, ...warm })));
    let prev = base;
    const changes: number[] = [];
    for (let i = 1; i <= 10; i++) {
      const reportAt = base.atMs + i * 1000;
      const sc = { offered: 900, ...warm, modalShare: prev.plan.modalWeight / 1000 };
      const onReport = decide(prev, inputs(reportAt, sc), reportAt, policy);
      const onTick = decide(onReport, { ...inputs(reportAt, sc) }, reportAt + 500, policy);
      expect(onTick.inputs['lambda_fast_rps']).toEqual(onReport.inputs['lambda_fast_rps']);
      if (onTick.plan.modalWeight !== onReport.plan.modalWeight) changes.push(i);
      prev = onTick;
    }
    expect(changes).toEqual([]);
    expect(prev.mode).toBe('spilling');
  });

  it('the noise band in-house absorbs stops halfway from its maximum to its whole capacity', () => {
    // A tiny fleet: 2 slots at 100 ms (20 rps flat out, maximum 18). At 20.2 rps the average is good
    // to ±1.4 rps, so two σ over the maximum would be 20.8 rps — past what in-house can serve at all.
    // Demand over its whole capacity is spilled, noise or not.
    const tiny = { capacity: 2, ...warm };
    const over = run(20, () => ({ offered: 20.2, ...tiny, offeredNoiseRps: Math.sqrt(20.2) }));
    expect(last(over).mode).toBe('spilling');
    expect(last(over).plan.dropPercent).toBe(0);
  });

  it('a spill one noisy report started ends as soon as the average does not bear it out', () => {
    // The small service at a steady 50 rps (over the 48 rps target, under the start line): one report
    // of 80 rps is a step by its noise (over 2.5 σ) and spills at once; the reports after it are 50 again.
    // The average, lifted to ≈ 55 by that report, is not clearly over the stop line (49.4 rps ± 2.2),
    // so the spill ends within a few reports instead of running on while demand sits at 50.
    const small = { capacity: 6, ...warm };
    const calm = run(20, () => ({ offered: 50, ...small, offeredNoiseRps: Math.sqrt(50) }));
    expect(last(calm).plan.modalWeight).toBe(0);
    const at = (t: number): number => (t === 0 ? 80 : 50);
    const after = run(10, (t) => ({ offered: at(t), ...small, offeredNoiseRps: Math.sqrt(at(t)) }), policy, last(calm));
    expect(after[0]!.mode).toBe('spilling');
    expect(after.slice(3).every((d) => d.mode !== 'spilling')).toBe(true);
  });

  it('after a step in demand, the lag the average still carries does not keep a noise-started spill running', () => {
    // The small service steps from 47 to 53 rps (ρ 0.88, under its 54 rps maximum), then one report of
    // 80 rps spills at once. The step left the average rising (a trend of ≈ 0.5 rps/s, which as a
    // ramp's lag would add ≈ 2.5 rps); read with that lag, the average stayed over the stop line's
    // noise margin for ten reports while in-house could serve all of it. The stop line reads the
    // average alone: the spill ends once the average is within its noise (here, five reports).
    const small = { capacity: 6, ...warm };
    const at = (t: number): number => (t < 20 ? 47 : t === 24 ? 80 : 53);
    const d = run(40, (t) => ({ offered: at(t), ...small, offeredNoiseRps: Math.sqrt(at(t)) }));
    expect(d[24]!.mode).toBe('spilling');
    expect(d.slice(29).every((x) => x.mode !== 'spilling')).toBe(true);
    expect(d.every((x) => x.plan.dropPercent === 0)).toBe(true);
  });

  it('the first load report starts the averages: demand seen for the first time is not a ramp from zero', () => {
    // Spillway decides before any Envoy has reported (nothing to go on: zero), then the small
    // service's first report shows 52 rps (ρ 0.87) and demand stays there. Climbing from zero to 52
    // would read as a ramp whose extrapolated lag sits over the maximum (54) for half a minute and
    // spills what in-house serves.
    const small = { capacity: 6, ...warm };
    const before = decide(undefined, silentInputs(T0, small), T0, policy);
    const after = run(40, () => ({ offered: 52, ...small, offeredNoiseRps: Math.sqrt(52) }), policy, before);
    expect(after[0]!.inputs['lambda_fast_rps']!.value).toBe(52);
    expect(after.every((d) => d.plan.modalWeight === 0 && d.plan.dropPercent === 0)).toBe(true);
  });

  it("until the averages have run a few windows, they carry the first report's noise", () => {
    // The fixture's fleet (target 640, start line 704, max 720). The first report reads 730 rps — 1.5 σ
    // of its own counting noise over a steady 690. Taken with the settled average's ±8.5 rps, it
    // would be clearly over the start line and spill what in-house serves; it is one report, ±27 rps.
    const before = decide(undefined, silentInputs(T0, warm), T0, policy);
    const at = (t: number): number => (t === 0 ? 730 : 690);
    const after = run(30, (t) => ({ offered: at(t), ...warm, offeredNoiseRps: Math.sqrt(at(t)) }), policy, before);
    expect(after.every((d) => d.plan.modalWeight === 0 && d.plan.dropPercent === 0)).toBe(true);
    // Demand clearly over the line from the first report on still spills at once.
    const over = run(3, () => ({ offered: 800, ...warm, offeredNoiseRps: Math.sqrt(800) }), policy, before);
    expect(over[0]!.mode).toBe('spilling');
  });

  it('memory from a version that did not record report times keeps its averages', () => {
    // A restart (or a new leader) resumes state saved before demandReportAtMs existed: the averages
    // are running, not waiting for a first report; one report must not replace them.
    const settled = last(run(20, () => ({ offered: 500, ...warm })));
    const old = JSON.parse(JSON.stringify(settled)) as Decision;
    const st = old.state as unknown as Record<string, unknown>;
    delete st['demandReportAtMs'];
    delete st['demandSinceMs'];
    upgradeSavedState(old.state);
    const next = run(1, () => ({ offered: 900, ...warm }), policy, old);
    expect(next[0]!.inputs['lambda_fast_rps']!.value).toBeLessThan(600);
  });

  it("on a ramp the average's lag is added back against its noise margin: Modal takes the excess, nothing is shed", () => {
    // The small service (max 54 rps, capacity 60) under a ramp of 2 rps/s with noisy reports, Modal
    // warm. The 5 s average trails the ramp by ≈ 10 rps; read bare, with its noise margin, it would
    // be clearly over the maximum only once demand was ≈ 68 rps — shedding on the way what a warm
    // Modal could serve.
    const small = { capacity: 6, ...warm };
    const at = (t: number): number => 30 + 2 * t;
    const ramp = run(25, (t) => ({ offered: at(t), ...small, offeredNoiseRps: Math.sqrt(at(t)) }));
    const first = ramp.findIndex((d) => d.plan.modalWeight > 0);
    expect(first).toBeGreaterThan(0);
    expect(at(first)).toBeLessThanOrEqual(62);
    expect(ramp.every((d) => d.plan.dropPercent === 0)).toBe(true);
    // Once started, the spill holds while the ramp goes on (no start/stop flapping on the way up).
    expect(ramp.slice(first).every((d) => d.mode === 'spilling')).toBe(true);
  });

  it('after a large fall the plan stays within a step of the latest report', () => {
    const up = run(20, () => ({ offered: 1000, ...warm, offeredNoiseRps: Math.sqrt(1000) }));
    const fall = run(30, () => ({ offered: 300, ...warm, offeredNoiseRps: Math.sqrt(300) }), policy, last(up));
    for (const d of fall) expect(d.inputs['planned_demand_rps']!.value).toBeGreaterThanOrEqual(0.85 * 300 - 1);
  });

  it('follows eased demand down at once (no hold over the excess) and releases Modal under the target', () => {
    const up = run(20, () => ({ offered: 1000, ...warm }));
    expect(last(up).plan.modalWeight).toBeCloseTo(360, -1);
    // Still over the target (800 > 640): Modal's take follows the smoothed excess down, never above it.
    const eased = run(30, () => ({ offered: 800, ...warm }), policy, last(up));
    const takes = eased.map((d) => d.inputs['modal_take_rps']!.value);
    const excesses = eased.map((d) => d.inputs['planned_demand_rps']!.value - d.inputs['in_house_target_rps']!.value);
    takes.forEach((t, i) => expect(t).toBeLessThanOrEqual(excesses[i]! + 1));
    expect(takes[5]!).toBeLessThan(300); // a hold would still be at 360 here
    expect(last(eased).inputs['modal_take_rps']!.value).toBeCloseTo(160, -1);
    // Under the target: Modal is released within the fast window, not stepped down over minutes.
    const down = run(15, () => ({ offered: 500, ...warm }), policy, last(up));
    const released = down.findIndex((d) => d.mode === 'draining');
    expect(released).toBeGreaterThanOrEqual(0);
    expect(released).toBeLessThanOrEqual(8);
    expect(down[released]!.plan.modalHealth).toBe('DEGRADED');
  });

  it('the Modal cap always wins at once, even on the way down', () => {
    const up = run(10, () => ({ offered: 1000, ...warm }));
    const d = last(run(1, () => ({ offered: 1000, runners: 2, runningInputs: 10, inputHeadroom: 0 }), policy, last(up)));
    // 10 warm inputs / 0.13 s ≈ 77 rps of the 1000 offered (+ ≈ 1 rps into the 10 slots still starting).
    expect(d.inputs['modal_take_rps']!.value).toBeLessThanOrEqual(79);
    expect((1000 * (1 - d.plan.dropPercent / 100) * d.plan.modalWeight) / 1000).toBeLessThanOrEqual(80);
  });

  it('uses the slower of the configured and the measured Modal service time', () => {
    // LRS shows 300 ms per Modal request (in flight / issued): the same warm inputs take less.
    const d = last(run(3, () => ({ offered: 2000, ...warm, modalInProgress: 400 }), policy));
    expect(d.inputs['modal_capacity_rps']!.value).toBeLessThan(769);
  });

  it('dead band: small demand wiggles are not republished', () => {
    const d = run(40, (t) => ({ offered: 1000 + (t % 2 === 0 ? 5 : -5), ...warm }));
    const changes = d.slice(5).filter((x) => x.changed).length;
    expect(changes).toBe(0);
  });

  it('soft-cordon: DEGRADED while draining, aborted if demand returns, removed once Modal is empty', () => {
    const up = run(10, () => ({ offered: 800, ...warm }));
    const down = run(120, () => ({ offered: 300, ...warm, modalInProgress: 3 }), policy, last(up));
    const firstDrain = down.findIndex((d) => d.mode === 'draining');
    expect(firstDrain).toBeGreaterThanOrEqual(0);
    expect(down[firstDrain]!.plan.modalHealth).toBe('DEGRADED');
    expect(down[firstDrain]!.plan.modalWeight).toBeGreaterThanOrEqual(1);
    // Modal still has work in flight: stays cordoned rather than removed.
    expect(last(down).mode).toBe('draining');
    const back = run(3, () => ({ offered: 900, ...warm }), policy, last(down));
    expect(last(back).plan.modalHealth).toBe('HEALTHY');
    expect(last(back).mode).toBe('spilling');
    const empty = run(40, () => ({ offered: 300, ...warm, modalInProgress: 0 }), policy, last(down));
    expect(last(empty).plan.modalWeight).toBe(0);
    expect(last(empty).mode).toBe('in-house');
  });

  it('sheds deliberately, sized to the excess, when both tiers are full', () => {
    const full = { runners: 40, runningInputs: 400, inputHeadroom: 0 };
    const d = last(run(3, () => ({ offered: 5000, ...full })));
    // in-house max 0.9 × 800 = 720 rps; Modal 400 inputs / 0.13 s ≈ 3077 rps.
    expect(d.mode).toBe('shedding');
    expect(d.plan.dropPercent).toBe(Math.ceil((100 * (5000 - 720 - 3077)) / 5000));
    expect(d.reason).toMatch(/^shedding/);
  });

  it('sheds at the edge while Modal is cold rather than queueing the excess in in-house backends', () => {
    const d = last(run(2, () => ({ offered: 2000, runners: 0, runningInputs: 0, inputHeadroom: 0 })));
    // In-house takes its 720 rps max, a cold Modal a probe (2 in flight / 8 s cold start): the rest is shed.
    expect(d.mode).toBe('shedding');
    expect(d.plan.dropPercent).toBe(Math.ceil((100 * (2000 - 720 - 0.25)) / 2000));
    expect(d.reason).toMatch(/Modal cold \(probe 0\.\d rps\)/);
  });

  it("drains a queue the backends built before any report showed the surge, and keeps in-house's maximum", () => {
    const cold = { offered: 1000, runners: 0, runningInputs: 0, inputHeadroom: 0 };
    const settled = last(run(3, () => cold));
    // In flight alone is no queue (long-lived requests count there too): nothing changes until the
    // backends refuse requests.
    const streams = last(run(1, () => ({ ...cold, inHouseInProgress: 160 }), policy, settled));
    expect(streams.plan.dropPercent).toBe(settled.plan.dropPercent);
    expect(streams.inputs['in_house_queued']!.value).toBe(0);
    // The surge's first interval filled the backends: 160 in flight where 72 serve the 720 rps
    // maximum, and they answer 503s.
    const queued = last(run(1, () => ({ ...cold, inHouseInProgress: 160, inHouseErrorRps: 20 }), policy, settled));
    expect(queued.plan.dropPercent).toBeGreaterThan(settled.plan.dropPercent);
    expect(queued.inputs['in_house_queued']!.value).toBe(88);
    // 88 over 2 s: in-house is allowed 720 − 44 rps until they are served.
    expect(queued.reason).toContain('676 rps while 88 queued in-house drain');
    expect(queued.inputs['in_house_max_rps']!.value).toBe(720);
    // Drained: back to the maximum at once, nothing ratcheted.
    const drained = last(run(1, () => cold, policy, queued));
    expect(drained.plan.dropPercent).toBe(settled.plan.dropPercent);
    expect(drained.inputs['in_house_queued']!.value).toBe(0);
    // A busy fleet within half its in-flight again is not a queue to drain (M/D/c at ρ 0.95).
    const busy = last(run(1, () => ({ ...cold, inHouseInProgress: 100 }), policy, drained));
    expect(busy.plan.dropPercent).toBe(settled.plan.dropPercent);
  });

  it('a max_rps fleet slower than in_house_service_time_ms is not a queue while its slots are not full', () => {
    // 240 slots serving 800 rps flat out: requests take 300 ms, though the policy's service time says
    // 100 ms (a max_rps fleet need not state it). At 720 rps, 216 are in flight — 0.9 of the slots,
    // no queue; rate × the stated service time would have called 144 of them queued and shed them.
    const cold = { offered: 1000, runners: 0, runningInputs: 0, inputHeadroom: 0, inHouseMaxRps: 800, capacity: 240 };
    const settled = last(run(3, () => ({ ...cold, inHouseInProgress: 200 })));
    const busy = last(run(1, () => ({ ...cold, inHouseInProgress: 216 }), policy, settled));
    expect(busy.inputs['in_house_queued']!.value).toBe(0);
    expect(busy.plan.dropPercent).toBe(Math.ceil((100 * (1000 - 720 - 0.25)) / 1000));
  });

  it('demand over the in-house maximum goes to a warm Modal even before the average crosses the start line', () => {
    const calm = run(10, () => ({ offered: 500, ...warm }));
    // 735 rps: over in-house's 720 rps maximum, but 95 rps over the target is not a step from there
    // (15 % of 640), and the 5 s average still says 500. Modal is warm: nothing is shed.
    const d = last(run(1, () => ({ offered: 735, ...warm }), policy, last(calm)));
    expect(d.plan.dropPercent).toBe(0);
    expect(d.mode).toBe('spilling');
    expect(d.inputs['modal_take_rps']!.value).toBe(95);
  });

  it('a cold tier gets no more than probe_inputs requests in flight', () => {
    const probing = last(run(2, () => ({ offered: 1000, runners: 0, runningInputs: 0, inputHeadroom: 0, modalInProgress: 0 })));
    expect(probing.plan.modalWeight).toBeGreaterThan(0);
    const full = last(
      run(1, () => ({ offered: 1000, runners: 0, runningInputs: 0, inputHeadroom: 0, modalInProgress: 2 }), policy, probing),
    );
    expect(full.inputs['modal_take_rps']!.value).toBe(0);
  });

  it('never ratchets in-house capacity down because of a queue: the budget comes from capacity alone', () => {
    const base = last(run(5, () => ({ offered: 900, ...warm })));
    // In-house holds 76 in flight (0.95 of its slots) for a minute: a queue, not less capacity.
    const later = last(run(60, () => ({ offered: 900, inHouseInProgress: 76, ...warm }), policy, base));
    expect(later.plan.modalWeight).toBe(base.plan.modalWeight);
    expect(later.inputs['in_house_target_rps']!.value).toBe(640);
  });

  it('capacity from per-endpoint max rates, scaled for a planned drain', () => {
    const byRate = last(run(1, () => ({ offered: 1000, ...warm, inHouseMaxRps: 500 })));
    expect(byRate.inputs['in_house_target_rps']!.value).toBe(400);
    const drained = last(run(1, () => ({ offered: 1000, ...warm, capacityScaler: 0.5 })));
    expect(drained.inputs['in_house_target_rps']!.value).toBe(320);
    expect(drained.plan.modalWeight).toBeGreaterThan(byRate.plan.modalWeight);
  });

  it('pre-warm: raises min_containers ahead of the crossing; near the target holds it for the cool-down, clearly under releases it', () => {
    // Demand ramps 400 → 634 rps in 40 s: still below the 640 rps target when pre-warm fires.
    const ramp = run(40, (t) => ({ offered: 400 + 6 * t }));
    const fired = ramp.findIndex((d) => (d.autoscaler?.minContainers ?? 0) > 0);
    expect(fired).toBeGreaterThanOrEqual(0);
    expect(ramp[fired]!.plan.modalWeight).toBe(0);
    expect(ramp[fired]!.autoscaler!.reason).toMatch(/pre-warm/);
    // Levelling off just under the target: the containers stay asked for, until the cool-down ends.
    const near = run(90, () => ({ offered: 600, offeredNoiseRps: 10 }), policy, last(ramp));
    expect(near[10]!.autoscaler!.minContainers).toBeGreaterThan(0);
    expect(last(near).autoscaler!.minContainers).toBe(0);
    // Falling clearly under it: released at once; Modal's scaledown window keeps them warm a while.
    const calm = run(3, () => ({ offered: 300, offeredNoiseRps: 10 }), policy, last(ramp));
    expect(calm[0]!.autoscaler!.minContainers).toBe(0);
  });

  describe('modal_wait_budget_ms: containers up or coming may queue what they serve within the budget', () => {
    const waiting = makePolicy(); // the default: 15 s
    // 40 containers × 10 inputs at 130 ms ⇒ 3,077 rps once warm; cold start 8 s.
    const cold = { runners: 0, runningInputs: 0, inputHeadroom: 0 };

    it('a cold tier is sent the excess once containers are asked for, bounded by what may wait in Modal', () => {
      const calm = run(10, () => ({ offered: 500 }), waiting);
      // A step to 1500 rps into a cold tier: the first decision asks pre-warm for 14 containers and
      // counts them coming — 140 slots at 130 ms (1,077 rps) warm in 8 s, so 140 + 1,077 × 7 may wait.
      const step = run(1, () => ({ offered: 1500, ...cold, modalInProgress: 0 }), waiting, last(calm));
      expect(step[0]!.autoscaler!.minContainers).toBe(14);
      expect(step[0]!.inputs['modal_take_rps']!.value).toBe(860);
      expect(step[0]!.plan.dropPercent).toBe(0);
      expect(step[0]!.reason).toMatch(/14 containers warm in 8\.0 s, \d+ more may wait in Modal \(budget 15 s\)/);
      // A second on, with the queue at its bound (what 14 containers serve in the 8 s left after they
      // warm in 7, plus their slots), Modal gets nothing more and the excess over in-house's maximum is shed.
      const full = run(1, () => ({ offered: 1500, ...cold, modalInProgress: 140 + (140 / 0.13) * 8 }), waiting, last(step));
      expect(full[0]!.inputs['modal_take_rps']!.value).toBeLessThan(5);
      expect(full[0]!.plan.dropPercent).toBeGreaterThan(40);
      expect(full[0]!.reason).toContain('Modal queue full');
    });

    it("never lets Modal hold more than it queues (2,000) on top of the containers' slots", () => {
      const calm = run(10, () => ({ offered: 500 }), waiting);
      const step = run(1, () => ({ offered: 1500, ...cold, modalInProgress: 0 }), waiting, last(calm));
      // 140 + 1,077 × 7 ≈ 7,700 would fit the budget; Modal queues 2,000 synchronous calls at most.
      expect(Number(/(\d+) more may wait in Modal/.exec(step[0]!.reason)?.[1])).toBe(140 + 2000);
    });

    it('containers asked for but never shown stop counting after 1.5 cold starts; a base floor never counted', () => {
      const calm = run(10, () => ({ offered: 500 }), waiting);
      // Pre-warm asked for 14; Modal shows 4 and no more (a quota) for 16 s.
      const after = run(
        16,
        () => ({ offered: 1500, runners: 4, runningInputs: 0, inputHeadroom: 0, modalInProgress: 0 }),
        waiting,
        last(calm),
      );
      expect(after[0]!.reason).toMatch(/14 containers warm in 8\.0 s/);
      expect(last(after).reason).toMatch(/; 4 containers/);
      // A base of 5 containers pre-warm never raised: nothing was asked of Modal, nothing is coming.
      const based = makePolicy({ default: { prewarm: { baseMinContainers: 5 } } });
      const small = run(10, () => ({ offered: 500 }), based);
      // 690 rps: an excess of 50 rps needs 1 container, under the base, so pre-warm asks for nothing new.
      const over = run(1, () => ({ offered: 690, ...cold, modalInProgress: 0 }), based, last(small));
      expect(over[0]!.reason).not.toContain('may wait in Modal');
    });

    it('queues nothing that would wait past the budget, however long the service time', () => {
      // 20 s per request: the old bound, slots × (1 − (8 − 5) / 20), was still positive.
      const slow = makePolicy({ modalServiceTimeMs: 20_000, default: { modalWaitBudgetMs: 5_000 } });
      // Up to 400 containers (200 rps at 20 s): a 100 rps excess is one Modal can catch up with, so
      // only the wait says no.
      const calm = run(10, () => ({ offered: 500, maxContainers: 400 }), slow);
      const step = run(1, () => ({ offered: 740, ...cold, maxContainers: 400, modalInProgress: 0 }), slow, last(calm));
      expect(step[0]!.autoscaler!.minContainers).toBeGreaterThan(0);
      expect(step[0]!.reason).not.toContain('may wait in Modal');
      expect(step[0]!.inputs['modal_take_rps']!.value).toBeLessThan(1);
    });

    it('fills the room over the time to the next load report (in-flight in Modal changes only with reports)', () => {
      const every = (gapMs: number): Decision => {
        let prev: Decision | undefined;
        for (let i = 0; i < 10; i++) prev = decide(prev, inputs(T0 + i * gapMs, { offered: 500 }), T0 + i * gapMs, waiting);
        const at = T0 + 10 * gapMs;
        return decide(prev, inputs(at, { offered: 1500, ...cold, modalInProgress: 0 }), at, waiting);
      };
      const oneS = every(1000).inputs['modal_capacity_rps']!.value;
      const threeS = every(3000).inputs['modal_capacity_rps']!.value;
      expect(oneS / threeS).toBeCloseTo(3, 1);
    });

    it('queues nothing while Modal cannot be observed', () => {
      const calm = run(10, () => ({ offered: 500 }), waiting);
      const blind = run(1, () => ({ offered: 1500, noStats: true, failures: 5, modalInProgress: 0 }), waiting, last(calm));
      expect(blind[0]!.reason).not.toContain('may wait in Modal');
    });

    it('with the budget off the same step into a cold tier is shed at the edge', () => {
      const calm = run(10, () => ({ offered: 500 }));
      const step = run(1, () => ({ offered: 1500, ...cold, modalInProgress: 0 }), policy, last(calm));
      expect(step[0]!.inputs['modal_take_rps']!.value).toBeLessThan(5);
      expect(step[0]!.plan.dropPercent).toBeGreaterThan(40);
    });

    it('a queue that would only grow (excess past every container Modal may run) is not built', () => {
      // 4 containers at most: 308 rps flat out, against an excess of 860 rps.
      const calm = run(10, () => ({ offered: 500, maxContainers: 4 }), waiting);
      const step = run(1, () => ({ offered: 1500, ...cold, maxContainers: 4, modalInProgress: 0 }), waiting, last(calm));
      expect(step[0]!.inputs['modal_take_rps']!.value).toBeLessThan(5);
      expect(step[0]!.plan.dropPercent).toBeGreaterThan(40);
    });

    it("never past the route's timeout: a request Envoy gives up on is no goodput", () => {
      const calm = run(10, () => ({ offered: 500 }), waiting);
      const at = last(calm).atMs + 1000;
      const step = decide(last(calm), inputs(at, { offered: 1500, ...cold, modalInProgress: 0, requestDeadlineMs: 9_500 }), at, waiting);
      // 9.5 s of route less the 0.13 s service: 140 slots + 1,077 rps × (9.37 − 8 s to warm).
      expect(step.reason).toMatch(/14 containers warm in 8\.0 s, \d+ more may wait in Modal \(budget 9\.4 s, the route's timeout\)/);
      expect(Number(/(\d+) more may wait in Modal/.exec(step.reason)?.[1])).toBe(Math.round(140 + (140 / 0.13) * (9.5 - 0.13 - 8)));
      // A route timeout shorter than the cold start: nothing may wait.
      const tight = decide(last(calm), inputs(at, { offered: 1500, ...cold, modalInProgress: 0, requestDeadlineMs: 5_000 }), at, waiting);
      expect(tight.reason).not.toContain('may wait in Modal');
      expect(tight.reason).toContain("14 containers warm in 8.0 s, too late for any wait (budget 4.9 s, the route's timeout)");
      expect(tight.inputs['modal_take_rps']!.value).toBeLessThan(5);
      // A route timeout within the service time itself: no wait at all.
      const none = decide(last(calm), inputs(at, { offered: 1500, ...cold, modalInProgress: 0, requestDeadlineMs: 100 }), at, waiting);
      expect(none.reason).toContain("the route's timeout leaves no wait in Modal");
    });

    it('a budget shorter than the wait for containers to warm queues nothing', () => {
      const short = makePolicy({ default: { modalWaitBudgetMs: 5_000 } });
      const calm = run(10, () => ({ offered: 500 }), short);
      const step = run(1, () => ({ offered: 1500, ...cold, modalInProgress: 0 }), short, last(calm));
      expect(step[0]!.inputs['modal_take_rps']!.value).toBeLessThan(5);
    });
  });

  it('pre-warm acts on a step at once: the first decision after it asks for the containers the excess needs', () => {
    const calm = run(10, () => ({ offered: 500 }));
    const step = run(1, () => ({ offered: 1500 }), policy, last(calm));
    // 860 rps over target × 0.13 s / 8 inputs per container ⇒ 14 containers.
    expect(step[0]!.autoscaler!.minContainers).toBe(14);
  });

  it("pre-warm past the limit asks for the latest report's excess, never for the step's slope", () => {
    const calm = run(10, () => ({ offered: 500 }));
    const held = run(15, () => ({ offered: 1500 }), policy, last(calm));
    // The slope of a step lingers in the trend for two windows; extrapolated, it asked for 19.
    expect(Math.max(...held.map((d) => d.autoscaler!.minContainers))).toBe(14);
  });

  it('counts runners still cold-starting as no capacity when Modal does not say which inputs are free', () => {
    // Stats without running inputs or headroom (a reply whose zeros cannot be told from "not sent").
    const calm = run(5, () => ({ offered: 500 }));
    const waking = run(12, (t) => ({ offered: 1000, runners: t === 0 ? 0 : 10, modalInProgress: 0 }), policy, last(calm));
    // Ten runners appeared, none warm yet: Modal may hold only what they will take once up (100 in
    // flight over the 8 s cold start, 12.5 rps), not the 769 rps ten warm runners would serve.
    expect(waking[2]!.inputs['modal_take_rps']!.value).toBeLessThanOrEqual(13);
    expect(waking[2]!.reason).toContain('10 starting');
    expect(waking[2]!.inputs['modal_capacity_rps']!.value).toBeLessThanOrEqual(13);
    // A cold start after they first showed, they count: 100 inputs at 130 ms.
    expect(waking[11]!.inputs['modal_capacity_rps']!.value).toBe(769);
    // Runners already there when Spillway starts are taken as warm (a restart must not shed).
    const restarted = last(run(1, () => ({ offered: 1000, runners: 10 })));
    expect(restarted.inputs['modal_capacity_rps']!.value).toBe(769);
    expect(restarted.inputs['modal_take_rps']!.value).toBe(360);
  });

  it('tracks starting runners through falls, clocks that go back and malformed memory', () => {
    const sample = (runners: number, at: number) => ({ service: 'svc', runners, backlog: 0, observedAtMs: at });
    const first = trackStartingRunners(initialDefaultState().startingRunners, sample(2, 0), 8000);
    expect(first.groups).toEqual([]); // present at the first sample: warm
    const rose = trackStartingRunners(first, sample(6, 1000), 8000);
    expect(rose.groups).toEqual([{ n: 4, warmAtMs: 9000 }]);
    // Two stop: the warm ones go first, the four starting stay starting.
    expect(trackStartingRunners(rose, sample(4, 2000), 8000).groups).toEqual([{ n: 4, warmAtMs: 9000 }]);
    // Down to three: one of the starting ones is gone too.
    expect(trackStartingRunners(rose, sample(3, 2000), 8000).groups).toEqual([{ n: 3, warmAtMs: 9000 }]);
    // A sample older than the memory (a lagging clock) starts afresh instead of freezing.
    expect(trackStartingRunners(rose, sample(6, 500), 8000)).toEqual({ seen: 6, seenAtMs: 500, groups: [] });
    // Memory with a group that is not numbers drops it rather than adding text.
    const odd = { ...rose, groups: [{ n: '3', warmAtMs: 'x' } as unknown as { n: number; warmAtMs: number }] };
    expect(trackStartingRunners(odd, sample(6, 3000), 8000).groups).toEqual([]);
  });

  it('cost cap: once the hourly container-seconds budget is spent, stops spilling and sheds', () => {
    const p = makePolicy({ default: { costCapContainerSecondsPerHour: 100 } });
    const d = run(15, () => ({ offered: 1500, ...warm }), p);
    expect(d[0]!.mode).toBe('spilling');
    const after = last(d);
    expect(after.plan.modalHealth === 'DEGRADED' || after.plan.modalWeight === 0).toBe(true);
    expect(after.plan.dropPercent).toBeGreaterThan(0);
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
    // The stats freeze: the last sample only gets older.
    const out = run(60, (t) => ({ offered: 1000, modalShare: 0.36, ...warm, statsAgeMs: 1_500 + t * 1000 }), p, last(up));
    // Within the staleness bound (15 s) the frozen sample still counts; then trusted capacity decays.
    expect(out[0]!.reason).toMatch(/Modal warm capacity 100 inputs/);
    expect(out[20]!.plan.modalWeight).toBeGreaterThan(0);
    expect(out[20]!.reason).toMatch(/decaying trusted capacity/);
    // Trusted capacity decays (τ 60 s) from the last verified 100 inputs, verified ~60 s earlier:
    // 100·e^(-1) ≈ 37 inputs ≈ 283 rps of 1000.
    expect(last(out).plan.modalWeight).toBeLessThan(out[20]!.plan.modalWeight);
    expect(last(out).plan.modalWeight).toBeGreaterThan(250);
    expect(last(out).plan.modalWeight).toBeLessThan(300);
    // The decayed capacity is a guess that falls a little every second: it is republished in dead-band
    // steps, not on every decision (each is an EDS push to every Envoy).
    const published = new Set(out.slice(20).map((d) => d.plan.modalWeight));
    expect(published.size).toBeLessThan(15);
    // Modal errors on the data plane: give up at once.
    const bad = last(run(1, () => ({ offered: 1000, modalShare: 0.3, modalErrorRps: 100, ...warm, statsAgeMs: 90_000 }), p, last(out)));
    expect(bad.plan.modalWeight).toBe(0);
    expect(bad.mode).toBe('fail-safe');
  });
});

describe('missing inputs', () => {
  it('with no load report from any Envoy, the last plan is held, not recomputed from zero demand', () => {
    const policy = makePolicy();
    let d = decide(undefined, inputs(T0, { offered: 1200, modalShare: 0, runners: 12, runningInputs: 20, inputHeadroom: 80 }), T0, policy);
    for (let t = 1; t <= 30; t++) {
      const share = d.plan.modalWeight / 1000;
      d = decide(
        d,
        inputs(T0 + t * 1000, { offered: 1200, modalShare: share, runners: 12, runningInputs: 20, inputHeadroom: 80 }),
        T0 + t * 1000,
        policy,
      );
    }
    expect(d.plan.modalWeight).toBeGreaterThan(0);
    const silent = silentInputs(T0 + 31_000, { runners: 12, runningInputs: 20, inputHeadroom: 80 });
    const held = decide(d, silent, T0 + 31_000, policy);
    expect(held.plan).toEqual(d.plan);
    expect(held.changed).toBe(false);
    expect(held.reason).toMatch(/^holding the last plan: no load reports/);
    const again = decide(held, silent, T0 + 45_000, policy);
    expect(again.plan).toEqual(d.plan);
    expect(again.reason.match(/holding the last plan/g)).toHaveLength(1);
  });

  it('just after a restart, capacity verified moments ago stands until the first new Modal sample', () => {
    const policy = makePolicy();
    let d = decide(undefined, inputs(T0, { offered: 1200, runners: 12, runningInputs: 20, inputHeadroom: 80 }), T0, policy);
    for (let t = 1; t <= 20; t++) {
      const share = d.plan.modalWeight / 1000;
      d = decide(
        d,
        inputs(T0 + t * 1000, { offered: 1200, modalShare: share, runners: 12, runningInputs: 20, inputHeadroom: 80 }),
        T0 + t * 1000,
        policy,
      );
    }
    const before = d.plan.modalWeight;
    expect(before).toBeGreaterThan(0);
    // Restarted: load is back, but the poller has no sample yet.
    const share = before / 1000;
    const noSample = inputs(T0 + 23_000, { offered: 1200, modalShare: share, noStats: true });
    const after = decide(d, noSample, T0 + 23_000, policy);
    expect(after.plan.modalWeight).toBeGreaterThanOrEqual(before - 30);
    expect(after.reason).toMatch(/verified \d+ s ago/);
  });
});

describe('a second look at demand: the next load report sooner, at the turns', () => {
  // The small service (6 slots at 100 ms: target 48 rps, max 54) at 24 rps, 1 s reports, counting noise.
  const small = { capacity: 6, ...warm };
  const at = (offered: number, windowS = 1): Scenario => ({ offered, ...small, offeredNoiseRps: Math.sqrt(offered * windowS) / windowS });

  it('asks for it when a report rises by more than its noise while nothing is spilled, and acts on the answer', () => {
    const steady = run(20, () => at(24));
    expect(steady.every((d) => d.loadFollowUp === undefined)).toBe(true);
    // A step to 96 rps that began 0.2 s before the report: the report counts 38 rps, 2.3 σ over the
    // previous one, which is neither a step nor over a line. Nothing moves, but the next report is asked for.
    const partial = run(1, () => at(38), policy, last(steady))[0]!;
    expect(partial.plan).toMatchObject({ modalWeight: 0, dropPercent: 0 });
    expect(partial.loadFollowUp).toEqual({
      afterMs: FOLLOW_UP_AFTER_MS,
      reason: expect.stringMatching(/^load report rose to 38 rps from 24/),
    });
    // Half a second later, a report of the new rate alone: a step by its (wider) noise, so it spills.
    // (It rose again and asks again; the LRS server asks no Envoy whose early report is still due.)
    const now = partial.atMs + 500;
    const answer = decide(partial, inputs(now, at(96, 0.5)), now, policy);
    expect(answer.mode).toBe('spilling');
    // Within its noise, a report asks for nothing.
    expect(run(1, () => at(28), policy, last(steady))[0]!.loadFollowUp).toBeUndefined();
  });

  it("with several Envoys the sum moves on each one's report, closer than the interval: a rise still asks", () => {
    // Four Envoys reporting 250 ms apart; a step to 96 rps reaches the sum through one of them.
    let d = last(run(20, () => at(24)));
    for (let k = 1; k <= 4; k++) {
      const now = d.atMs + 250;
      d = decide(d, inputs(now, at(24)), now, policy);
      expect(d.loadFollowUp).toBeUndefined();
    }
    const now = d.atMs + 250;
    expect(decide(d, inputs(now, at(42)), now, policy).loadFollowUp?.afterMs).toBe(FOLLOW_UP_AFTER_MS);
  });

  it('compares with the previous report, not the average: after an overflow the average is still high', () => {
    // 10 s at 96 rps, then 24 rps again: Modal is released (drained: soft-cordoned, no traffic), and
    // after 6 s the 5 s average is still ≈ 46 rps, so a report of 38 rps is under the average — but
    // 14 rps over the reports before it.
    const burst = run(10, () => at(96));
    const back = run(6, () => at(24), policy, last(burst));
    expect(last(back).mode).toBe('draining');
    expect(last(back).inputs['lambda_fast_rps']!.value).toBeGreaterThan(40);
    expect(run(1, () => at(38), policy, last(back))[0]!.loadFollowUp?.afterMs).toBe(FOLLOW_UP_AFTER_MS);
  });

  it("asks for it when the in-house in-flight gauge jumps, before the report's counts show the step", () => {
    // 24 rps at 100 ms: ≈ 2.4 in flight. A step to 96 rps begun 0.1 s before the report counts only
    // 31 rps (within the counts' noise) but already has ≈ 9.6 requests in flight.
    const steady = run(20, () => at(24));
    const early = run(1, () => ({ ...at(31), inHouseInProgress: 10 }), policy, last(steady))[0]!;
    expect(early.plan).toMatchObject({ modalWeight: 0, dropPercent: 0 });
    expect(early.loadFollowUp).toEqual({
      afterMs: FOLLOW_UP_AFTER_MS,
      reason: expect.stringMatching(/^in-house requests in flight rose to 10 from about 2\.4/),
    });
    // The gauge's own noise asks for nothing (5 in flight: 1.5 σ over 2.4).
    expect(run(1, () => ({ ...at(24), inHouseInProgress: 5 }), policy, last(steady))[0]!.loadFollowUp).toBeUndefined();
    // After an overflow the gauge's average has come back down within seconds.
    const back = run(6, () => at(24), policy, last(run(10, () => at(96))));
    expect(run(1, () => ({ ...at(31), inHouseInProgress: 10 }), policy, last(back))[0]!.loadFollowUp?.reason).toMatch(
      /^in-house requests in flight rose/,
    );
    // Nor right after a spill: traffic back from Modal raises in-house in flight with demand unchanged
    // (the gauge's average starts afresh with the first report after it).
    const over = last(run(10, () => ({ ...at(96), inHouseInProgress: 2 })));
    const release = run(1, () => ({ ...at(40), inHouseInProgress: 4 }), policy, over)[0]!;
    expect(release.mode).toBe('draining');
    const after = run(1, () => ({ ...at(40), inHouseInProgress: 20 }), policy, release)[0]!;
    expect(after.loadFollowUp).toBeUndefined();
    // While spilling, in-house in flight moves with the split: not read.
    const spilling = run(20, () => at(96));
    expect(run(1, () => ({ ...at(96), inHouseInProgress: 15 }), policy, last(spilling))[0]!.loadFollowUp).toBeUndefined();
  });

  it('acts on a short early report when the in-flight gauge corroborates its rise, not without it, and goes on with the step', () => {
    // Reports of 40 rps, then an early report (0.4 s) of 68 rps: 2.2 σ of its own noise (±13) over
    // the average — no step by its counts alone. With in-house in flight jumping from ≈ 4 to 12
    // (the new arrivals of the last 100 ms), the two signals together are a step: it spills, and
    // the ticks before the next report keep to it.
    const steady = run(20, () => at(40));
    const now = last(steady).atMs + 400;
    const quiet = decide(last(steady), inputs(now, at(68, 0.4)), now, policy);
    expect(quiet.mode).toBe('in-house');
    const corroborated = decide(last(steady), inputs(now, { ...at(68, 0.4), inHouseInProgress: 12 }), now, policy);
    expect(corroborated.mode).toBe('spilling');
    const tick = decide(corroborated, inputs(now, { ...at(68, 0.4), inHouseInProgress: 12 }), now + 250, policy);
    expect(tick.plan).toEqual(corroborated.plan);
    // The next (whole-second) report of 65 rps, under 2.5 σ of its noise from the average (≈ 47)
    // but with the step: the spill goes on, not back to the average. Back at 42 rps, under the
    // average, it follows the average again and the spill ends.
    const next = decide(tick, inputs(now + 1_000, { ...at(65), inHouseInProgress: 5 }), now + 1_000, policy);
    expect(next.mode).toBe('spilling');
    const back = decide(next, inputs(now + 2_000, { ...at(42), inHouseInProgress: 4 }), now + 2_000, policy);
    expect(back.mode).toBe('draining');
    // Only a step up goes on: after a fall from 70 to 45 rps (a step), a report of 52, within 2.5 σ
    // of the average (≈ 63), is not planned on: the plan follows the average down.
    const fell = run(1, () => at(45), policy, last(run(20, () => at(70))))[0]!;
    expect(fell.inputs['planned_demand_rps']!.value).toBe(45);
    const after = run(1, () => at(52), policy, fell)[0]!;
    expect(after.inputs['planned_demand_rps']!.value).toBeGreaterThan(58);
  });

  it('while spilling, asks for it when demand falls, not when it rises', () => {
    const spilling = run(20, () => at(96));
    expect(last(spilling).mode).toBe('spilling');
    expect(run(1, () => at(60), policy, last(spilling))[0]!.loadFollowUp?.reason).toMatch(/^load report fell to 60 rps/);
    expect(run(1, () => at(130), policy, last(spilling))[0]!.loadFollowUp).toBeUndefined();
  });

  it('asks for nothing on a tick that sees no new report, nor while every Envoy is silent', () => {
    const steady = run(20, () => at(24));
    const partial = run(1, () => at(38), policy, last(steady))[0]!;
    expect(partial.loadFollowUp).toBeDefined();
    // The same report again on the next tick (its observedAtMs has not moved).
    const again = decide(partial, { ...inputs(partial.atMs, at(38)) }, partial.atMs + 250, policy);
    expect(again.loadFollowUp).toBeUndefined();
    expect(decide(partial, silentInputs(partial.atMs + 1000, at(38)), partial.atMs + 1000, policy).loadFollowUp).toBeUndefined();
  });
});
