// Turns the ClusterStats Envoy sends over LRS into per-service rates, rejecting whatever cannot be
// trusted. Envoy's counters are deltas over the report's own window (load_report_interval), except
// total_requests_in_progress, which is a gauge.
import { durationMs } from '../core/duration.js';
import type { ClusterStats__Output } from '../generated/envoy/config/endpoint/v3/ClusterStats.js';
import { endpointKey } from '../config/endpoint-key.js';
import type { UpstreamEndpointStats__Output } from '../generated/envoy/config/endpoint/v3/UpstreamEndpointStats.js';
import type { EndpointCounts } from '../model/host-health.js';
import { LOCALITY_KINDS, localityKindOf } from '../model/localities.js';
import type { LocalityKind } from '../model/inputs.js';
import { CLUSTER_MAX_REQUESTS } from '../resources/clusters.js';

/** Why (part of) a load report was ignored. Counted, never thrown. */
export type RejectReason =
  | 'missing-node'
  | 'refused-stream'
  | 'superseded-stream'
  | 'unknown-cluster'
  | 'unknown-locality'
  | 'bad-interval'
  | 'bad-counter'
  | 'in-progress-over-circuit-breaker'
  | 'rate-over-ceiling';

export const REJECT_REASONS: readonly RejectReason[] = [
  'missing-node',
  'refused-stream',
  'superseded-stream',
  'unknown-cluster',
  'unknown-locality',
  'bad-interval',
  'bad-counter',
  'in-progress-over-circuit-breaker',
  'rate-over-ceiling',
];

/**
 * Drops Envoy counts in total_dropped_requests but not under a dropped_requests category. In Envoy
 * that is circuit breaking (drop_overloads always come with their category).
 */
export const UNCATEGORIZED_DROP_CATEGORY = 'circuit_breaking';

export interface LocalityRates {
  /** Gauge: requests in flight when the report was taken. */
  inProgress: number;
  issuedRps: number;
  successRps: number;
  errorRps: number;
}

/** One service's load as one Envoy reported it in one report. */
export interface ServiceLoadReport {
  service: string;
  /** The measured window the rates were computed over. */
  windowMs: number;
  /** Both localities always present: Envoy omits a locality that was idle, which means zero. */
  localities: Record<LocalityKind, LocalityRates>;
  /** Dropped requests per second, by category. */
  dropsRps: Record<string, number>;
  /** Requests issued to the in-house locality over the window (a count, for judging hosts). */
  inHouseIssued: number;
  /**
   * Per in-house endpoint (endpointKey) counts over the window; only endpoints with activity appear.
   * Undefined when the Envoy sent no per-endpoint stats although the locality was busy (it does not
   * report endpoint granularity), so nothing can be judged from it.
   */
  inHouseEndpoints: Map<string, EndpointCounts> | undefined;
}

export interface ReportLimits {
  /** Windows outside [minWindowMs, maxWindowMs] are absurd: the rates they give cannot be trusted. */
  minWindowMs: number;
  maxWindowMs: number;
  /** Issued plus dropped requests per second above this, for one cluster from one Envoy, cannot be true. */
  maxRps: number;
  /** More requests in flight than the cluster's circuit breaker allows one Envoy cannot be true. */
  maxInProgress: number;
}

export const DEFAULT_REPORT_LIMITS: ReportLimits = {
  minWindowMs: 10,
  maxWindowMs: 10 * 60_000,
  maxRps: 1_000_000,
  maxInProgress: CLUSTER_MAX_REQUESTS,
};

export interface NormalizedReport {
  services: ServiceLoadReport[];
  rejected: RejectReason[];
}

/**
 * Validates and converts one LoadStatsRequest's cluster_stats. A bad cluster entry is rejected on
 * its own; a bad locality is rejected without losing the rest of its cluster. Several entries for
 * the same service (clusters sharing an EDS service name) are summed.
 */
export function normalizeClusterStats(
  stats: readonly ClusterStats__Output[],
  isKnownService: (name: string) => boolean,
  limits: ReportLimits = DEFAULT_REPORT_LIMITS,
): NormalizedReport {
  const rejected: RejectReason[] = [];
  const byService = new Map<string, ServiceLoadReport>();

  for (const cluster of stats) {
    const service = serviceOf(cluster, isKnownService);
    if (service === undefined) {
      rejected.push('unknown-cluster');
      continue;
    }
    const windowMs = durationMs(cluster.load_report_interval);
    if (windowMs === undefined || windowMs < limits.minWindowMs || windowMs > limits.maxWindowMs) {
      rejected.push('bad-interval');
      continue;
    }
    const perSecond = 1000 / windowMs;

    const localities = zeroLocalities();
    let badCounter = false;
    let inHouseIssued = 0;
    let inHouseEndpoints: Map<string, EndpointCounts> | undefined = new Map();
    for (const ls of cluster.upstream_locality_stats) {
      const kind = localityKindOf(ls.locality);
      if (kind === undefined) {
        rejected.push('unknown-locality');
        continue;
      }
      const inProgress = parseCount(ls.total_requests_in_progress);
      const issued = parseCount(ls.total_issued_requests);
      const successful = parseCount(ls.total_successful_requests);
      const errors = parseCount(ls.total_error_requests);
      if (inProgress === undefined || issued === undefined || successful === undefined || errors === undefined) {
        badCounter = true;
        break;
      }
      if (kind === 'in-house') {
        inHouseIssued += issued;
        if (issued > 0 && ls.upstream_endpoint_stats.length === 0) inHouseEndpoints = undefined;
        else if (inHouseEndpoints && !addEndpointCounts(inHouseEndpoints, ls.upstream_endpoint_stats)) {
          badCounter = true;
          break;
        }
      }
      // One entry per (locality, priority): sum the priorities.
      const into = localities[kind];
      into.inProgress += inProgress;
      into.issuedRps += issued * perSecond;
      into.successRps += successful * perSecond;
      into.errorRps += errors * perSecond;
    }
    const drops = dropCounts(cluster);
    if (badCounter || drops === undefined) {
      rejected.push('bad-counter');
      continue;
    }
    const dropsRps: Record<string, number> = {};
    for (const [category, count] of Object.entries(drops)) dropsRps[category] = count * perSecond;
    const impossible = impossibleCounts(localities, dropsRps, limits);
    if (impossible) {
      rejected.push(impossible);
      continue;
    }

    const report: ServiceLoadReport = { service, windowMs, localities, dropsRps, inHouseIssued, inHouseEndpoints };
    const previous = byService.get(service);
    byService.set(service, previous ? sumReports(previous, report) : report);
  }
  return { services: [...byService.values()], rejected };
}

/** Counts no Envoy can have produced for one cluster: never fed to the controller. */
function impossibleCounts(
  localities: Record<LocalityKind, LocalityRates>,
  dropsRps: Record<string, number>,
  limits: ReportLimits,
): RejectReason | undefined {
  let inProgress = 0;
  let rps = 0;
  for (const kind of LOCALITY_KINDS) {
    inProgress += localities[kind].inProgress;
    rps += localities[kind].issuedRps;
  }
  for (const r of Object.values(dropsRps)) rps += r;
  if (inProgress > limits.maxInProgress) return 'in-progress-over-circuit-breaker';
  if (rps > limits.maxRps) return 'rate-over-ceiling';
  return undefined;
}

/** The cluster name is the service name; fall back on the EDS service name if only that is known. */
function serviceOf(cluster: ClusterStats__Output, isKnownService: (name: string) => boolean): string | undefined {
  if (cluster.cluster_name && isKnownService(cluster.cluster_name)) return cluster.cluster_name;
  if (cluster.cluster_service_name && isKnownService(cluster.cluster_service_name)) return cluster.cluster_service_name;
  return undefined;
}

/** A uint64 as protobuf-loader hands it over (decimal string), if it is a sane count. */
function parseCount(value: string | number | null | undefined): number | undefined {
  if (value === undefined || value === null || value === '') return 0;
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function dropCounts(cluster: ClusterStats__Output): Record<string, number> | undefined {
  const byCategory: Record<string, number> = {};
  let categorized = 0;
  for (const d of cluster.dropped_requests) {
    const count = parseCount(d.dropped_count);
    if (count === undefined) return undefined;
    if (count === 0) continue;
    const category = d.category || UNCATEGORIZED_DROP_CATEGORY;
    byCategory[category] = (byCategory[category] ?? 0) + count;
    categorized += count;
  }
  const total = parseCount(cluster.total_dropped_requests);
  if (total === undefined) return undefined;
  // The total covers drop_overloads and circuit breaking; the remainder has no category of its own.
  const uncategorized = total - categorized;
  if (uncategorized > 0) {
    byCategory[UNCATEGORIZED_DROP_CATEGORY] = (byCategory[UNCATEGORIZED_DROP_CATEGORY] ?? 0) + uncategorized;
  }
  return byCategory;
}

export function zeroRates(): LocalityRates {
  return { inProgress: 0, issuedRps: 0, successRps: 0, errorRps: 0 };
}

function zeroLocalities(): Record<LocalityKind, LocalityRates> {
  return { 'in-house': zeroRates(), modal: zeroRates() };
}

export function addRates(into: LocalityRates, from: LocalityRates): void {
  into.inProgress += from.inProgress;
  into.issuedRps += from.issuedRps;
  into.successRps += from.successRps;
  into.errorRps += from.errorRps;
}

/** Adds one locality's per-endpoint stats into `into`; false when a counter cannot be trusted. */
function addEndpointCounts(into: Map<string, EndpointCounts>, stats: readonly UpstreamEndpointStats__Output[]): boolean {
  for (const e of stats) {
    const sa = e.address?.socket_address;
    if (!sa?.address || sa.port_value === undefined) continue;
    const issued = parseCount(e.total_issued_requests);
    const success = parseCount(e.total_successful_requests);
    const error = parseCount(e.total_error_requests);
    if (issued === undefined || success === undefined || error === undefined) return false;
    const key = endpointKey(sa.address, sa.port_value);
    const c = into.get(key) ?? { issued: 0, success: 0, error: 0 };
    into.set(key, { issued: c.issued + issued, success: c.success + success, error: c.error + error });
  }
  return true;
}

function mergeEndpointCounts(
  a: Map<string, EndpointCounts> | undefined,
  b: Map<string, EndpointCounts> | undefined,
): Map<string, EndpointCounts> | undefined {
  if (!a || !b) return undefined;
  const out = new Map(a);
  for (const [key, c] of b) {
    const prev = out.get(key) ?? { issued: 0, success: 0, error: 0 };
    out.set(key, { issued: prev.issued + c.issued, success: prev.success + c.success, error: prev.error + c.error });
  }
  return out;
}

function sumReports(a: ServiceLoadReport, b: ServiceLoadReport): ServiceLoadReport {
  const localities = zeroLocalities();
  for (const kind of LOCALITY_KINDS) {
    addRates(localities[kind], a.localities[kind]);
    addRates(localities[kind], b.localities[kind]);
  }
  const dropsRps: Record<string, number> = { ...a.dropsRps };
  for (const [category, rps] of Object.entries(b.dropsRps)) dropsRps[category] = (dropsRps[category] ?? 0) + rps;
  return {
    service: a.service,
    windowMs: Math.max(a.windowMs, b.windowMs),
    localities,
    dropsRps,
    inHouseIssued: a.inHouseIssued + b.inHouseIssued,
    inHouseEndpoints: mergeEndpointCounts(a.inHouseEndpoints, b.inHouseEndpoints),
  };
}
