// Which in-house hosts Envoy really sends traffic to, judged from LRS per-endpoint stats, and what
// that leaves as capacity. Envoy never says "host X is ejected" over xDS; what it does say, in every
// load report, is how many requests each endpoint was issued. A host that is issued nothing while its
// peers are busy is one Envoy is not using (failed health checks, outlier ejection, not yet checked);
// a host that answers only errors is failing even before Envoy notices. Pure: the caller keeps state.
import type { InHouseEndpoint } from '../config/config-types.js';
import { CordonState, endpointKey, openEndpoints, type Cordons } from './cordons.js';
import { inHouseEndpointWeight } from './endpoint-weights.js';

/** What one Envoy does with one in-house host. */
export const HostVerdict = {
  /** Envoy sends it requests and it answers some of them well. */
  Serving: 'SERVING',
  /** Envoy sends it nothing while its peers are busy: unhealthy, ejected or not yet health-checked. */
  Unused: 'UNUSED',
  /** Envoy sends it requests and every one fails. */
  Failing: 'FAILING',
} as const;
export type HostVerdict = (typeof HostVerdict)[keyof typeof HostVerdict];

/** Counts over one report window of one Envoy. */
export interface EndpointCounts {
  issued: number;
  success: number;
  error: number;
}

/** One Envoy's latest report for a service's in-house locality, with per-endpoint counts. */
export interface EnvoyEndpointReport {
  nodeId: string;
  /** Requests the Envoy issued to the in-house locality in the window. */
  localityIssued: number;
  /** Per endpoint (endpointKey), only those Envoy reported; absent means no requests. */
  endpoints: ReadonlyMap<string, EndpointCounts>;
}

/** A report as the LRS server received it: when, and over how long a window Envoy counted it. */
export interface ReceivedEndpointReport extends EnvoyEndpointReport {
  receivedAtMs: number;
  windowMs: number;
}

/** How much of a host the fleet can count on, over every reporting Envoy. */
export interface HostHealth {
  /** Fraction (0–1) of Envoys for which the host serves: its capacity counts in this proportion. */
  servingFraction: number;
  /** Fraction (0–1) of Envoys that keep it in their healthy set (not UNUSED): Envoy's own healthy fraction. */
  eligibleFraction: number;
  /** The worst verdict any Envoy gave, for people. */
  verdict: HostVerdict;
}

/** Health per endpointKey; a host absent from the map is taken as serving (nothing says otherwise). */
export type FleetHealth = ReadonlyMap<string, HostHealth>;

/** A host is UNUSED once this many requests were expected at it, in one window or over quiet ones in a row. */
export const MIN_EXPECTED_REQUESTS = 6;
/** A host is FAILING once this many requests failed in a window with none succeeding. */
export const MIN_FAILED_REQUESTS = 3;

/** One Envoy's verdict on one host, and the requests expected at it since it last got one. */
export interface HostJudgement {
  verdict: HostVerdict;
  quietExpected: number;
}

/**
 * One Envoy's verdicts on the in-house hosts, from its latest report. A host's expected count is its
 * weight's share of the locality's requests (a lower bound: Envoy spreads over fewer hosts when some
 * are out). Expected requests add up over quiet windows, so low traffic takes longer to judge but is
 * never misjudged; until then the previous verdict stands (SERVING at first). Any success makes a host
 * SERVING again at once. Cordoned hosts are not judged: Spillway itself took them out.
 */
export function judgeEnvoy(
  endpoints: readonly InHouseEndpoint[],
  cordons: Cordons,
  report: EnvoyEndpointReport,
  previous: ReadonlyMap<string, HostJudgement> | undefined,
): Map<string, HostJudgement> {
  const out = new Map<string, HostJudgement>();
  const open = openEndpoints(endpoints, cordons);
  // Envoy splits by the published endpoint weights (slots, or max_rps when every host has one).
  const weight = inHouseEndpointWeight(endpoints, cordons);
  const total = open.reduce((n, e) => n + weight(e), 0);
  for (const e of open) {
    const key = endpointKey(e.address, e.port);
    const c = report.endpoints.get(key);
    const expected = total > 0 ? (report.localityIssued * weight(e)) / total : 0;
    const before = previous?.get(key) ?? { verdict: HostVerdict.Serving, quietExpected: 0 };
    if (c && c.issued > 0) {
      const failing = c.success === 0 && c.error >= MIN_FAILED_REQUESTS;
      out.set(key, {
        verdict: failing ? HostVerdict.Failing : c.success > 0 ? HostVerdict.Serving : before.verdict,
        quietExpected: 0,
      });
    } else if (previous && !previous.has(key)) {
      // Published since this Envoy's last report: the window may have begun before Envoy had the
      // host (a DNS answer, a file reload), so its silence here says nothing yet.
      out.set(key, { verdict: HostVerdict.Serving, quietExpected: 0 });
    } else {
      const quietExpected = Math.min(before.quietExpected + expected, 1e9);
      out.set(key, { verdict: quietExpected >= MIN_EXPECTED_REQUESTS ? HostVerdict.Unused : before.verdict, quietExpected });
    }
  }
  return out;
}

/** Combines per-Envoy verdicts into what the fleet can count on. */
export function fleetHealth(perEnvoy: Iterable<ReadonlyMap<string, HostVerdict | HostJudgement>>): FleetHealth {
  const acc = new Map<string, { serving: number; eligible: number; n: number; worst: HostVerdict }>();
  const rank: Record<HostVerdict, number> = { SERVING: 0, FAILING: 1, UNUSED: 2 };
  for (const verdicts of perEnvoy) {
    for (const [key, j] of verdicts) {
      const v = typeof j === 'string' ? j : j.verdict;
      const a = acc.get(key) ?? { serving: 0, eligible: 0, n: 0, worst: HostVerdict.Serving };
      a.n++;
      if (v === HostVerdict.Serving) a.serving++;
      if (v !== HostVerdict.Unused) a.eligible++;
      if (rank[v] > rank[a.worst]) a.worst = v;
      acc.set(key, a);
    }
  }
  const out = new Map<string, HostHealth>();
  for (const [key, a] of acc) out.set(key, { servingFraction: a.serving / a.n, eligibleFraction: a.eligible / a.n, verdict: a.worst });
  return out;
}

/**
 * Envoy's healthy fraction of the in-house locality, as Spillway can tell it: hosts Envoy may use
 * over all hosts less the DRAINING ones (which Envoy leaves out of the denominator). DEGRADED hosts
 * and hosts Envoy leaves unused count against it. 1 for a fleet with no host to count.
 */
export function inHouseHealthyFraction(endpoints: readonly InHouseEndpoint[], cordons: Cordons, health?: FleetHealth): number {
  let eligible = 0;
  let counted = 0;
  for (const e of endpoints) {
    const key = endpointKey(e.address, e.port);
    const cordon = cordons.get(key);
    if (cordon === CordonState.Draining) continue;
    counted++;
    if (cordon === undefined) eligible += health?.get(key)?.eligibleFraction ?? 1;
  }
  return counted === 0 ? 1 : eligible / counted;
}
