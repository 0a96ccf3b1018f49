import { describe, expect, it } from 'vitest';
import { CordonState } from '../../src/model/cordons.js';
import { HostVerdict, type HostJudgement } from '../../src/model/host-health.js';
import { probeEvidence, upOnly, withProbe } from '../../src/model/probe-evidence.js';
import { nextProbeState, type ProbeState } from '../../src/model/probe-state.js';

const cfg = { healthyThreshold: 1, unhealthyThreshold: 2 };
const run = (results: boolean[], c = cfg): ProbeState[] => {
  const out: ProbeState[] = [];
  let s: ProbeState | undefined;
  results.forEach((ok, i) => out.push((s = nextProbeState(s, ok, c, i * 100))));
  return out;
};

describe('the probe state machine', () => {
  it('claims nothing until a threshold is crossed, then changes its mind only past the other threshold', () => {
    const s = run([false, false, true, false, false, false, true]);
    expect(s.map((x) => x.up)).toEqual([undefined, false, true, true, false, false, true]);
    // sinceMs moves only when `up` changes.
    expect(s.map((x) => x.sinceMs)).toEqual([0, 100, 200, 200, 400, 400, 600]);
  });

  it('needs healthy_threshold passes in a row to come back', () => {
    const s = run([false, false, true, false, true, true], { healthyThreshold: 2, unhealthyThreshold: 2 });
    expect(s.map((x) => x.up)).toEqual([undefined, false, false, false, false, true]);
  });
});

const ep = (port: number) => ({ address: '10.0.0.1', port, capacity: 4 });
const key = (port: number) => `10.0.0.1:${port}`;
/** Probe states by port: [up, sinceMs]. */
const probes = (byPort: Record<number, [up: boolean, sinceMs: number]>): Map<string, ProbeState> =>
  new Map(Object.entries(byPort).map(([port, [up, sinceMs]]) => [key(Number(port)), { up, sinceMs, streak: up ? 1 : -2 }]));
const judged = (byPort: Record<number, HostVerdict>): Map<string, HostJudgement> =>
  new Map(Object.entries(byPort).map(([port, verdict]) => [key(Number(port)), { verdict, quietExpected: 0 }]));

describe('the probe laid over load-report verdicts', () => {
  const endpoints = [ep(1), ep(2), ep(3)];
  /** The probe's claims on the three hosts (every one open and up counting back unless said). */
  const claims = (byPort: Parameters<typeof probes>[0], o: { cordons?: Map<string, CordonState>; upCounts?: boolean } = {}) =>
    probeEvidence(endpoints, o.cordons ?? new Map(), probes(byPort), o.upCounts ?? true);

  it('wins where it changed its mind after the report window began, and only there', () => {
    const { evidence } = claims({ 1: [true, 5_000], 2: [false, 5_000], 3: [true, 0] });
    const verdicts = judged({ 1: HostVerdict.Failing, 2: HostVerdict.Serving, 3: HostVerdict.Failing });
    // A report whose window began at 4 s: the probe's changes at 5 s are newer.
    const newer = withProbe(verdicts, 4_000, evidence);
    expect([...newer.values()].map((j) => j.verdict)).toEqual([HostVerdict.Serving, HostVerdict.Failing, HostVerdict.Failing]);
    // A report whose whole window came after: what Envoy did stands.
    expect(withProbe(verdicts, 6_000, evidence)).toEqual(verdicts);
  });

  it('counts out a host the report says nothing of (discovered since) when the probe finds it down', () => {
    const { evidence } = claims({ 1: [false, 5_000], 2: [true, 5_000], 3: [true, 5_000] });
    const only2and3 = judged({ 2: HostVerdict.Serving, 3: HostVerdict.Serving });
    expect(withProbe(only2and3, 4_000, evidence).get(key(1))?.verdict).toBe(HostVerdict.Failing);
    // What is kept for the next report holds the passes only: a failure must not outlive the probe's evidence.
    expect(withProbe(only2and3, 4_000, upOnly(evidence)).has(key(1))).toBe(false);
  });

  it('does not count a host back while Envoy may still hold it out (its own health check or ejection)', () => {
    const { evidence } = claims({ 1: [true, 5_000], 2: [false, 5_000] }, { upCounts: false });
    expect([...evidence.keys()]).toEqual([key(2)]);
  });

  it('ignores failures on every open host: that is the probe, not the fleet', () => {
    const r = claims({ 1: [false, 5_000], 2: [false, 5_000], 3: [false, 5_000] });
    expect(r.ignoredAllDown).toBe(true);
    expect(r.evidence.size).toBe(0);
    // A drained host is not open: the other two failing still counts as "all".
    const drained = claims({ 1: [false, 1], 2: [false, 1] }, { cordons: new Map([[key(3), CordonState.Draining]]) });
    expect(drained.ignoredAllDown).toBe(true);
    // A soft-cordoned (DEGRADED) host's passing probe does not hide that every open one fails.
    const degraded = claims({ 1: [false, 1], 2: [false, 1], 3: [true, 1] }, { cordons: new Map([[key(3), CordonState.Degraded]]) });
    expect(degraded.ignoredAllDown).toBe(true);
    // Nor does a host not probed yet (just discovered).
    expect(claims({ 1: [false, 1], 2: [false, 1] }).ignoredAllDown).toBe(true);
    // One host up: the failures are believed.
    const some = claims({ 1: [false, 1], 2: [false, 1], 3: [true, 1] });
    expect(some.ignoredAllDown).toBe(false);
    expect(some.evidence.size).toBe(3);
  });
});
