// Load shapes as data: a scenario is a list of linear rate segments, so it can be printed, stored with
// a benchmark's results, read from a file, and integrated exactly (expected request counts).

export interface RateSegment {
  startS: number;
  endS: number;
  /** Rate at startS; the rate moves linearly to toRps at endS. */
  fromRps: number;
  toRps: number;
}

export interface Scenario {
  name: string;
  /** Contiguous from 0, in time order. */
  segments: RateSegment[];
}

export const SCENARIO_NAMES = ['steady', 'ramp', 'step', 'burst', 'diurnal', 'ramp-burst-drain'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface ScenarioParams {
  durationS: number;
  baseRps: number;
  /** Top rate of ramp, step, burst, diurnal and ramp-burst-drain; ignored by steady. */
  peakRps?: number;
  /** ramp: seconds from base to peak (default: the whole run). */
  rampS?: number;
  /** step and burst: when the rate jumps (default: step a third in, burst half way). */
  atS?: number;
  /** burst: how long the peak lasts (default 10 s); step: how long it holds (default: to the end). */
  holdS?: number;
  /** diurnal: one trough-to-trough "day" (default: the whole run). */
  periodS?: number;
}

export function scenarioDurationS(s: Scenario): number {
  return s.segments.at(-1)?.endS ?? 0;
}

/** Offered rate at t seconds; 0 outside the scenario. */
export function rateAt(s: Scenario, t: number): number {
  for (const seg of s.segments) {
    if (t >= seg.startS && t < seg.endS) return rateAtInSegment(seg, t);
  }
  return 0;
}

/** ∫ rate dt over [fromS, toS): the expected number of arrivals in that window. */
export function expectedArrivals(s: Scenario, fromS = 0, toS = scenarioDurationS(s)): number {
  let total = 0;
  for (const seg of s.segments) {
    const a = Math.max(fromS, seg.startS);
    const b = Math.min(toS, seg.endS);
    if (b <= a) continue;
    total += ((rateAtInSegment(seg, a) + rateAtInSegment(seg, b)) / 2) * (b - a);
  }
  return total;
}

function rateAtInSegment(seg: RateSegment, t: number): number {
  return seg.fromRps + ((seg.toRps - seg.fromRps) * (t - seg.startS)) / (seg.endS - seg.startS);
}

/** Builds a named scenario. Shapes are documented next to each case. */
export function buildScenario(name: ScenarioName, p: ScenarioParams): Scenario {
  const d = p.durationS;
  const base = p.baseRps;
  const peak = p.peakRps ?? base;
  if (!(d > 0)) throw new Error(`duration must be positive, got ${d}`);
  if (!(base >= 0) || !(peak >= 0)) throw new Error('rates must be non-negative');
  const b = new SegmentBuilder();
  switch (name) {
    case 'steady': // base for the whole run
      b.hold(d, base);
      break;
    case 'ramp': {
      // base → peak linearly over rampS, then hold peak
      const rampS = clamp(p.rampS ?? d, 0, d);
      b.line(rampS, base, peak).hold(d - rampS, peak);
      break;
    }
    case 'step': {
      // base, then peak from atS for holdS, then base again
      const at = clamp(p.atS ?? d / 3, 0, d);
      const hold = clamp(p.holdS ?? d - at, 0, d - at);
      b.hold(at, base)
        .hold(hold, peak)
        .hold(d - at - hold, base);
      break;
    }
    case 'burst': {
      // base with a square burst at peak from atS for holdS (default 10 s)
      const hold = clamp(p.holdS ?? Math.min(10, d / 3), 0, d);
      const at = clamp(p.atS ?? (d - hold) / 2, 0, d - hold);
      b.hold(at, base)
        .hold(hold, peak)
        .hold(d - at - hold, base);
      break;
    }
    case 'diurnal': {
      // base + (peak − base)·(1 − cos 2πt/period)/2: trough at 0, crest mid-period
      const period = p.periodS ?? d;
      if (!(period > 0)) throw new Error('period must be positive');
      // 48 linear pieces a period is within 0.3 % of the cosine.
      const step = period / 48;
      const at = (t: number): number => base + ((peak - base) * (1 - Math.cos((2 * Math.PI * t) / period))) / 2;
      const pieces = Math.ceil(d / step - 1e-9);
      for (let i = 0; i < pieces; i++) {
        const t = i * step;
        const e = i === pieces - 1 ? d : (i + 1) * step;
        b.line(e - t, at(t), at(e));
      }
      break;
    }
    case 'ramp-burst-drain': {
      // The demo: warm at base (15 %), ramp to the midpoint of base and peak (30 %) so spill starts
      // gradually, hold (10 %), burst to peak (10 %), drain back to base (15 %), then idle at base
      // (20 %) to watch Modal scale back down.
      const mid = (base + peak) / 2;
      b.hold(0.15 * d, base)
        .line(0.3 * d, base, mid)
        .hold(0.1 * d, mid)
        .hold(0.1 * d, peak)
        .line(0.15 * d, mid, base);
      b.hold(d - b.endS, base);
      break;
    }
  }
  return { name, segments: b.segments };
}

/** Checks a scenario read from a file (e.g. `{"name":"x","segments":[…]}`) and returns it typed. */
export function parseScenario(value: unknown): Scenario {
  const v = value as Partial<Scenario> | null;
  if (!v || !Array.isArray(v.segments) || v.segments.length === 0) throw new Error('scenario needs a non-empty segments array');
  let end = 0;
  const segments = v.segments.map((raw: Partial<RateSegment>, i) => {
    const { startS, endS, fromRps, toRps } = raw;
    for (const [k, x] of Object.entries({ startS, endS, fromRps, toRps })) {
      if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) throw new Error(`segment ${i}: ${k} must be a non-negative number`);
    }
    const seg = raw as RateSegment;
    if (Math.abs(seg.startS - end) > 1e-9 || !(seg.endS > seg.startS))
      throw new Error(`segment ${i}: segments must be contiguous from 0 with endS > startS`);
    end = seg.endS;
    return { startS: seg.startS, endS: seg.endS, fromRps: seg.fromRps, toRps: seg.toRps };
  });
  return { name: typeof v.name === 'string' ? v.name : 'custom', segments };
}

class SegmentBuilder {
  readonly segments: RateSegment[] = [];
  endS = 0;
  line(lengthS: number, fromRps: number, toRps: number): this {
    if (lengthS > 1e-9) {
      this.segments.push({ startS: this.endS, endS: this.endS + lengthS, fromRps, toRps });
      this.endS += lengthS;
    }
    return this;
  }
  hold(lengthS: number, rps: number): this {
    return this.line(lengthS, rps, rps);
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
