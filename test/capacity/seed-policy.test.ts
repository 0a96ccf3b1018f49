import { describe, expect, it } from 'vitest';
import { decide } from '../../src/capacity/decide.js';
import { makePolicy } from '../../src/config/capacity-policy.js';
import { seedFreeSlots } from '../../src/capacity/seed-policy.js';
import type { Decision } from '../../src/capacity/types.js';
import { inputs, T0, type Scenario } from './fixtures.js';

const seed = makePolicy({ name: 'seed' });

/** Runs the seed over a sequence of 3 s polls; each step gets a fresh stats sample. */
function run(steps: Scenario[]): Decision[] {
  const out: Decision[] = [];
  let prev: Decision | undefined;
  steps.forEach((s, i) => {
    const now = T0 + i * 3000;
    prev = decide(prev, inputs(now, s), now, seed);
    out.push(prev);
  });
  return out;
}

describe('seed policy: validated cases of the gateway sidecar', () => {
  it.each([
    ['cold: warm-up allowance of one container', 0, 0, 10],
    ['partial: runners × max_inputs − running', 2, 13, 7],
    ['ceiling: all slots busy', 40, 400, 0],
    ['over-subscribed never goes negative', 2, 25, 0],
  ])('free capacity, %s', (_name, runners, running, free) => {
    expect(seedFreeSlots(runners, running, 10, 1)).toBe(free);
  });

  it('hysteresis: starts at 0.85, keeps spilling above 0.60, stops below 0.60', () => {
    const warm = { runners: 4, runningInputs: 10 };
    const d = run([
      { inHouseInProgress: 64, ...warm }, // 0.80: below start
      { inHouseInProgress: 70, ...warm }, // 0.875: start
      { inHouseInProgress: 52, ...warm }, // 0.65: inside the band, still spilling
      { inHouseInProgress: 46, ...warm }, // 0.575: stop
    ]);
    expect(d.map((x) => x.mode)).toEqual(['in-house', 'spilling', 'spilling', 'in-house']);
    expect(d[3]!.plan.modalWeight).toBe(0);
  });

  it('weight ramps with real capacity as Modal scales', () => {
    const d = run([
      { inHouseInProgress: 76, runners: 1, runningInputs: 5 },
      { inHouseInProgress: 76, runners: 4, runningInputs: 10 },
      { inHouseInProgress: 76, runners: 10, runningInputs: 20 },
    ]);
    const w = d.map((x) => x.plan.modalWeight);
    expect(w[0]).toBeGreaterThan(0);
    expect(w[1]).toBeGreaterThan(w[0]!);
    expect(w[2]).toBeGreaterThan(w[1]!);
  });

  it('cold tier is woken with a small weight, not flooded', () => {
    const [d] = run([{ inHouseInProgress: 76, runners: 0 }]);
    expect(d!.mode).toBe('spilling');
    expect(d!.plan.modalWeight).toBeGreaterThan(0);
    // One container's slots (10) against 80 in-house slots, half-way through the EWMA.
    expect(d!.plan.modalWeight).toBeLessThan(100);
    expect(d!.reason).toMatch(/warm-up allowance/);
  });

  it('snaps to 0 on drain: no lingering sliver', () => {
    const d = run([
      { inHouseInProgress: 76, runners: 10, runningInputs: 20 },
      { inHouseInProgress: 76, runners: 10, runningInputs: 20 },
      { inHouseInProgress: 30, runners: 10, runningInputs: 20 },
    ]);
    expect(d[1]!.plan.modalWeight).toBeGreaterThan(200);
    expect(d[2]!.plan).toEqual({ inHouseWeight: 1000, modalWeight: 0, modalHealth: 'HEALTHY', dropPercent: 0 });
  });

  it('Modal full at its ceiling → weight 0 and shed the in-house excess', () => {
    const [d] = run([{ inHouseInProgress: 100, runners: 40, runningInputs: 400 }]);
    expect(d!.mode).toBe('shedding');
    expect(d!.plan.modalWeight).toBe(0);
    expect(d!.plan.dropPercent).toBeCloseTo(20, 0); // 100 in flight on 80 slots
  });

  it('Modal backlog rising → full → weight 0 and shed', () => {
    const d = run([
      { inHouseInProgress: 90, runners: 2, runningInputs: 10, backlog: 2 },
      { inHouseInProgress: 90, runners: 2, runningInputs: 20, backlog: 9 },
    ]);
    expect(d[0]!.mode).toBe('spilling');
    expect(d[1]!.mode).toBe('shedding');
    expect(d[1]!.plan.modalWeight).toBe(0);
    expect(d[1]!.reason).toMatch(/backlog rising/);
  });

  it('run loop 0 → spill → 0, and fail-safe drops to 0 on API outage with exponential back-off', () => {
    const d = run([
      { inHouseInProgress: 40, runners: 2, runningInputs: 2 },
      { inHouseInProgress: 76, runners: 2, runningInputs: 2 },
      { inHouseInProgress: 30, runners: 2, runningInputs: 2 },
      { inHouseInProgress: 76, runners: 2, runningInputs: 2 },
      { inHouseInProgress: 76, runners: 2, runningInputs: 2, failures: 3 },
      { inHouseInProgress: 76, runners: 2, runningInputs: 2, failures: 4 },
    ]);
    expect(d.slice(0, 3).map((x) => x.plan.modalWeight > 0)).toEqual([false, true, false]);
    expect(d[4]!.mode).toBe('fail-safe');
    expect(d[4]!.plan.modalWeight).toBe(0);
    expect(d[5]!.mode).toBe('fail-safe');
  });
});
