// Spillway's own probe laid over the verdicts Envoy's load reports gave: whichever saw a host last
// wins. A probe that crossed a threshold after a report's window began knows something that report
// cannot; a report whose whole window came after the probe's last change knows what Envoy really did
// (a host the probe cannot reach but Envoy can is serving). Pure.
import { endpointKey, openEndpoints, type Cordons } from './cordons.js';
import { HostVerdict, type HostJudgement } from './host-health.js';
import type { ProbeState } from './probe-state.js';
import type { InHouseEndpoint } from '../config/config-types.js';

/** What the probe may claim of each host, with when it last changed its mind. */
export type ProbeEvidence = ReadonlyMap<string, { up: boolean; sinceMs: number }>;

/**
 * The probe's claims a service can act on. A host that passes again counts back only when Envoy will
 * use it at once (`upCounts`): with Envoy's own health check or outlier ejection in force, Envoy may
 * hold it out for many seconds more, and only its reports can say when it stops. A probe failing on
 * every open host says more about the probe (a wrong path, Spillway's own network) than about the
 * fleet: its failures are then ignored and the reports decide, as without a probe.
 */
export function probeEvidence(
  endpoints: readonly InHouseEndpoint[],
  cordons: Cordons,
  probes: ReadonlyMap<string, ProbeState>,
  upCounts: boolean,
): { evidence: ProbeEvidence; ignoredAllDown: boolean } {
  // Open as host health judges them (no cordon at all): a cordoned host's probe decides nothing.
  const open = openEndpoints(endpoints, cordons).map((e) => endpointKey(e.address, e.port));
  const judged = open.flatMap((k) => {
    const p = probes.get(k);
    return p?.up === undefined ? [] : [[k, { up: p.up, sinceMs: p.sinceMs }] as const];
  });
  // Over the hosts the probe has judged: one just discovered and not probed yet changes nothing.
  const allDown = judged.length > 0 && judged.every(([, p]) => !p.up);
  const evidence = new Map(judged.filter(([, p]) => (p.up ? upCounts : !allDown)));
  return { evidence, ignoredAllDown: allDown };
}

/**
 * One Envoy's judgements with the probe's newer claims in their place. A host the report says
 * nothing of (discovered since) is taken as serving; the probe finding it down says otherwise.
 */
export function withProbe(
  judgements: ReadonlyMap<string, HostJudgement>,
  windowStartMs: number,
  evidence: ProbeEvidence,
): Map<string, HostJudgement> {
  const out = new Map(judgements);
  for (const [key, p] of evidence) {
    if (p.sinceMs <= windowStartMs) continue;
    const verdict = p.up ? HostVerdict.Serving : HostVerdict.Failing;
    const j = judgements.get(key);
    if (j ? j.verdict !== verdict : !p.up) out.set(key, { verdict, quietExpected: 0 });
  }
  return out;
}

/** Only the probe's passes: what a judgement keeps for the next report (a failure it must not outlive). */
export function upOnly(evidence: ProbeEvidence): ProbeEvidence {
  return new Map([...evidence].filter(([, p]) => p.up));
}
