import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/sim/prng.js';
import { poissonArrivals } from '../../tools/loadgen/arrivals.js';
import {
  buildScenario,
  expectedArrivals,
  parseScenario,
  rateAt,
  scenarioDurationS,
  SCENARIO_NAMES,
} from '../../tools/loadgen/scenarios.js';

describe('scenario shapes', () => {
  it('every named scenario covers exactly the duration, starting at base and never above peak', () => {
    for (const name of SCENARIO_NAMES) {
      const s = buildScenario(name, { durationS: 120, baseRps: 10, peakRps: 100 });
      expect(scenarioDurationS(s)).toBeCloseTo(120, 9);
      expect(rateAt(s, 0)).toBeCloseTo(10, 6);
      for (let t = 0; t < 120; t += 0.5) {
        expect(rateAt(s, t)).toBeGreaterThanOrEqual(10 - 1e-9);
        expect(rateAt(s, t)).toBeLessThanOrEqual(100 + 1e-9);
      }
      expect(rateAt(s, 120)).toBe(0);
    }
  });

  it('steady and ramp integrate to the obvious counts', () => {
    expect(expectedArrivals(buildScenario('steady', { durationS: 60, baseRps: 50 }))).toBeCloseTo(3000, 9);
    const ramp = buildScenario('ramp', { durationS: 60, baseRps: 0, peakRps: 100, rampS: 40 });
    expect(rateAt(ramp, 20)).toBeCloseTo(50, 9);
    expect(expectedArrivals(ramp)).toBeCloseTo(40 * 50 + 20 * 100, 9);
    expect(expectedArrivals(ramp, 0, 20)).toBeCloseTo(500, 9);
  });

  it('step and burst jump to peak at atS and come back after holdS', () => {
    const step = buildScenario('step', { durationS: 90, baseRps: 10, peakRps: 80, atS: 30 });
    expect([rateAt(step, 29.9), rateAt(step, 30), rateAt(step, 89)]).toEqual([10, 80, 80]);
    const burst = buildScenario('burst', { durationS: 60, baseRps: 10, peakRps: 200, atS: 20, holdS: 5 });
    expect([rateAt(burst, 19.9), rateAt(burst, 20), rateAt(burst, 24.9), rateAt(burst, 25)]).toEqual([10, 200, 200, 10]);
  });

  it('diurnal runs trough → crest → trough over a period', () => {
    const d = buildScenario('diurnal', { durationS: 240, baseRps: 20, peakRps: 120, periodS: 240 });
    expect(rateAt(d, 0)).toBeCloseTo(20, 6);
    expect(rateAt(d, 120)).toBeCloseTo(120, 6);
    expect(rateAt(d, 60)).toBeCloseTo(70, 0);
    expect(expectedArrivals(d)).toBeCloseTo(240 * 70, -1);
  });

  it('ramp-burst-drain warms at base, ramps, bursts to peak, drains, and idles at base', () => {
    const s = buildScenario('ramp-burst-drain', { durationS: 100, baseRps: 20, peakRps: 200 });
    expect(rateAt(s, 10)).toBe(20);
    expect(rateAt(s, 30)).toBeCloseTo(20 + (110 - 20) / 2, 6); // half way up the ramp to the midpoint
    expect(rateAt(s, 50)).toBeCloseTo(110, 6);
    expect(rateAt(s, 60)).toBe(200);
    expect(rateAt(s, 90)).toBe(20);
  });

  it('reads a custom shape from data and rejects gaps', () => {
    const s = parseScenario({
      name: 'mine',
      segments: [
        { startS: 0, endS: 5, fromRps: 0, toRps: 10 },
        { startS: 5, endS: 10, fromRps: 10, toRps: 10 },
      ],
    });
    expect(expectedArrivals(s)).toBeCloseTo(75, 9);
    expect(() => parseScenario({ segments: [{ startS: 1, endS: 5, fromRps: 1, toRps: 1 }] })).toThrow(/contiguous/);
    expect(() => parseScenario({ segments: [{ startS: 0, endS: 5, fromRps: -1, toRps: 1 }] })).toThrow(/fromRps/);
  });
});

describe('Poisson arrivals', () => {
  const steady = buildScenario('steady', { durationS: 100, baseRps: 50 });

  it('is the same sequence for the same seed and a different one for another', () => {
    const a = [...poissonArrivals(steady, mulberry32(5))];
    expect([...poissonArrivals(steady, mulberry32(5))]).toEqual(a);
    expect([...poissonArrivals(steady, mulberry32(6))].length).not.toBe(a.length);
  });

  it('is ascending, inside the scenario, and close to the expected count', () => {
    const times = [...poissonArrivals(steady, mulberry32(1))];
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThanOrEqual(times[i - 1]!);
    expect(times[0]!).toBeGreaterThanOrEqual(0);
    expect(times.at(-1)!).toBeLessThan(100);
    expect(Math.abs(times.length - 5000)).toBeLessThan(4 * Math.sqrt(5000));
  });

  it('follows the shape: a ramp puts three times as many arrivals in its second half', () => {
    const ramp = buildScenario('ramp', { durationS: 100, baseRps: 0, peakRps: 100 });
    const times = [...poissonArrivals(ramp, mulberry32(2))];
    const late = times.filter((t) => t >= 50).length;
    const early = times.length - late;
    expect(late / early).toBeGreaterThan(2.6);
    expect(late / early).toBeLessThan(3.4);
  });
});
