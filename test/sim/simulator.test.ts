import { describe, expect, it } from 'vitest';
import { DEFAULT_SIM, simulate, type SimController, type Trace } from '../../src/sim/engine.js';
import { defaultController, oracle, seedController, staticSplit } from '../../src/sim/policies.js';
import { replaceSection } from '../../src/sim/report.js';

// A short trace keeps the suite fast: 300 rps, step to 1100 rps at 20 s for 40 s.
const step: Trace = {
  name: 'mini-step',
  description: 'test',
  durationS: 90,
  rate: (t) => (t >= 20 && t < 60 ? 1100 : 300),
  hosts: () => 10,
  stepAtS: 20,
};

describe('trace simulator', () => {
  it('is deterministic for a seed', () => {
    const a = simulate(step, defaultController());
    const b = simulate(step, defaultController());
    expect(a).toEqual(b);
    const c = simulate(step, defaultController(), { ...DEFAULT_SIM, seed: 7 });
    expect(c.requests).not.toBe(a.requests);
  });

  it('offers the trace demand and conserves requests', () => {
    const r = simulate(step, staticSplit(0));
    const expected = 300 * 50 + 1100 * 40;
    expect(Math.abs(r.requests - expected) / expected).toBeLessThan(0.02);
    // Without Modal, the step beyond 800 rps overflows the in-house backends' queues: their own 503s.
    expect(r.inHouseOverflow / r.requests).toBeGreaterThan(0.1);
    expect(r.served + r.shed + r.errors).toBeLessThanOrEqual(r.requests);
    expect(r.modalServed).toBe(0);
    expect(r.modalContainerSeconds).toBe(0);
  });

  it('spills on a step: default fails far fewer requests than no spill, oracle spills at once and sheds nothing', () => {
    const none = simulate(step, staticSplit(0));
    const d = simulate(step, defaultController());
    const o = simulate(step, oracle());
    expect(d.shed + d.errors).toBeLessThan((none.shed + none.errors) / 2);
    expect(d.inHouseOverflow).toBeLessThan(none.inHouseOverflow / 10);
    expect(d.modalServed).toBeGreaterThan(0);
    expect(d.timeToSpillS).not.toBeNull();
    expect(o.shed).toBe(0);
    expect(o.timeToSpillS).toBeLessThan(1);
    expect(o.modalContainerSeconds).toBeGreaterThan(0);
  });

  it("sees the in-house fleet through Envoy's load reports, which run on their own timer, not the trace's", () => {
    // A host lost at 20 s and back at 40 s: the controller counts it back only from the first report
    // after Envoy uses it again (its health checks pass a detection delay later), and reports are not
    // in step with the trace's whole seconds.
    const loss: Trace = { ...step, name: 'mini-loss', rate: () => 300, hosts: (t) => (t >= 20 && t < 40 ? 9 : 10) };
    const seen: Array<{ nowMs: number; capacity: number; reportAtMs: number }> = [];
    const probe = {
      name: 'probe',
      tickMs: 250,
      tick: (ctx: Parameters<SimController['tick']>[0]) => {
        seen.push({ nowMs: ctx.nowMs, capacity: ctx.inputs.inHouseCapacity, reportAtMs: ctx.inputs.inHouse!.observedAtMs });
        return {};
      },
    } satisfies SimController;
    simulate(loss, probe);
    const reports = [...new Set(seen.map((s) => s.reportAtMs))];
    expect(reports.some((r) => r % 1000 !== 0)).toBe(true);
    const backAt = 40_000 + DEFAULT_SIM.healthCheckDetectMs;
    const firstReportAfter = reports.find((r) => r >= backAt)!;
    const fullBefore = seen.filter((s) => s.nowMs >= backAt && s.nowMs < firstReportAfter);
    expect(fullBefore.length).toBeGreaterThan(0);
    expect(fullBefore.every((s) => s.capacity === 9 * DEFAULT_SIM.slotsPerHost)).toBe(true);
    expect(seen.filter((s) => s.nowMs >= firstReportAfter).every((s) => s.capacity === 10 * DEFAULT_SIM.slotsPerHost)).toBe(true);
  });

  it("with Spillway's probe, counts a lost host out and a returning one back within the probe's interval", () => {
    const loss: Trace = { ...step, name: 'mini-loss', rate: () => 300, hosts: (t) => (t >= 20 && t < 40 ? 9 : 10) };
    const seen: Array<{ nowMs: number; capacity: number }> = [];
    const watcher = {
      name: 'watcher',
      tickMs: 50,
      tick: (ctx: Parameters<SimController['tick']>[0]) => {
        seen.push({ nowMs: ctx.nowMs, capacity: ctx.inputs.inHouseCapacity });
        return {};
      },
    } satisfies SimController;
    // Seed 2: load reports fall 0.7 s into each second, so the report path alone is late for both.
    const params = { ...DEFAULT_SIM, seed: 2, healthCheckDetectMs: 0, probeIntervalMs: 200, probeUnhealthyThreshold: 2 };
    simulate(loss, watcher, params);
    const firstAt = (from: number, cap: number): number => seen.find((s) => s.nowMs >= from && s.capacity === cap)!.nowMs;
    // Two failing probes (≤ 400 ms) to count it out; one passing probe (≤ 200 ms) to count it back.
    expect(firstAt(20_000, 9 * params.slotsPerHost) - 20_000).toBeLessThanOrEqual(450);
    expect(firstAt(40_000, 10 * params.slotsPerHost) - 40_000).toBeLessThanOrEqual(250);
    // Without the probe, both wait for the first report after them.
    seen.length = 0;
    simulate(loss, watcher, { ...params, probeIntervalMs: 0 });
    expect(firstAt(20_000, 9 * params.slotsPerHost) - 20_000).toBeGreaterThan(600);
    expect(firstAt(40_000, 10 * params.slotsPerHost) - 40_000).toBeGreaterThan(600);
  });

  it('a follow-up brings the next load report early, then the usual interval again, as Envoy does', () => {
    const flat: Trace = { ...step, name: 'mini-flat', durationS: 12, rate: () => 300 };
    const reports = new Set<number>();
    let askedAt: number | undefined;
    const asker = {
      name: 'asker',
      tickMs: 100,
      tick: (ctx: Parameters<SimController['tick']>[0]) => {
        reports.add(ctx.inputs.inHouse!.observedAtMs);
        // On the first tick after the fifth report, ask for the next one in 300 ms; then ask again on
        // every tick until 0.5 s after it.
        if (reports.size === 5 && askedAt === undefined) askedAt = ctx.nowMs;
        return askedAt !== undefined && ctx.nowMs - askedAt < 500 ? { loadFollowUpMs: 300 } : {};
      },
    } satisfies SimController;
    simulate(flat, asker);
    const at = [...reports].sort((a, b) => a - b);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    expect(at[5]! - askedAt!).toBe(300);
    // The asks while that report was due changed nothing; the tick that saw it asked again (none
    // pending, an early window since the ask): one more early report, 300 ms later.
    expect(gaps[5]).toBe(300);
    // Before and after, the usual interval.
    expect(gaps.slice(0, 3).every((g) => g === DEFAULT_SIM.lrsIntervalMs)).toBe(true);
    expect(gaps.slice(6).every((g) => g === DEFAULT_SIM.lrsIntervalMs)).toBe(true);
  });

  it('seed pushes weights more often than default on the same trace', () => {
    const s = simulate(step, seedController());
    const d = simulate(step, defaultController());
    expect(d.weightVariation).toBeLessThan(s.weightVariation);
  });

  it('replaces only its own section of BENCHMARKS.md', () => {
    const doc = '# Benchmarks\n\n## xDS\nfast\n\n## Trace simulator\nold\n\n## LRS\nkeep\n';
    const out = replaceSection(doc, '## Trace simulator\nnew\n');
    expect(out).toBe('# Benchmarks\n\n## xDS\nfast\n\n## Trace simulator\nnew\n\n## LRS\nkeep\n');
    expect(replaceSection('# Benchmarks\n', '## Trace simulator\nx\n')).toBe('# Benchmarks\n\n## Trace simulator\nx\n');
  });
});
