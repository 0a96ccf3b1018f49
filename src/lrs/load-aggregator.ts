// Aggregates the load reports of every connected Envoy into per-service, per-locality demand.
// Pure bookkeeping: no timers, no clock — every call is told what time it is — so tests can replay
// any interleaving of reports, reconnects and silences.
//
// Each Envoy (node id) contributes its latest report per service; the aggregate is the sum over
// Envoys. Keying by node id, not by stream, is what keeps a reconnecting Envoy from being counted twice.
import type { ClusterStats__Output } from '../generated/envoy/config/endpoint/v3/ClusterStats.js';
import { LOCALITY_KINDS } from '../model/localities.js';
import { offeredRps, type LocalityKind, type LocalityLoad, type ServiceDrops } from '../model/inputs.js';
import type { ReceivedEndpointReport } from '../model/host-health.js';
import {
  DEFAULT_REPORT_LIMITS,
  REJECT_REASONS,
  addRates,
  normalizeClusterStats,
  zeroRates,
  type RejectReason,
  type ReportLimits,
  type ServiceLoadReport,
} from './load-report.js';

export interface LoadAggregatorOptions {
  /** A service's report from an Envoy counts until it is this old (the Envoy went silent). */
  expireAfterMs: number;
  /**
   * After an Envoy's stream closes, its reports count for at most this long: long enough to
   * reconnect without the demand signal dipping, short enough that a gone Envoy stops counting.
   */
  disconnectGraceMs: number;
  limits?: ReportLimits;
}

/** LocalityLoad plus how fresh it is and how many Envoys it sums. */
export interface LocalityLoadReading extends LocalityLoad {
  /** Age of the newest contributing report at snapshot time. */
  ageMs: number;
  reporters: number;
}

export interface ServiceDropsReading extends ServiceDrops {
  ageMs: number;
}

export interface ServiceLoad {
  service: string;
  localities: Readonly<Record<LocalityKind, LocalityLoadReading>>;
  drops: ServiceDropsReading;
  /** Envoys whose report for this service is live. */
  reporters: number;
  /**
   * One standard deviation of the offered rate (issued to both localities plus dropped) from
   * counting alone: each Envoy's report counts requests over its window, and a count n has Poisson
   * noise √n, so a rate over W seconds has √(rate / W). One σ: the capacity policy decides how many
   * of them make a step.
   */
  offeredNoiseRps: number;
  /** Newest and oldest contributing report: the spread says how coherent the sum is. */
  observedAtMs: number;
  oldestObservedAtMs: number;
}

export interface LoadSnapshot {
  atMs: number;
  /** Services with at least one live report, sorted by name. */
  services: readonly ServiceLoad[];
  /** Envoys with an open LRS stream. */
  connectedEnvoys: number;
  /** Report parts ignored since start, by reason. */
  rejected: Readonly<Record<RejectReason, number>>;
}

export interface IngestResult {
  /** Services whose sample from this Envoy was replaced. */
  accepted: number;
  rejected: readonly RejectReason[];
}

/** One Envoy's latest report of one service, and when it arrived. */
export interface ServiceSample {
  report: ServiceLoadReport;
  receivedAtMs: number;
}

/**
 * One Envoy's live report of one service as this aggregator holds it, with the moment it stops
 * counting (silence, or the grace after its stream closed): what a replica shares with the others so
 * the group can count each Envoy once, wherever its stream is.
 */
export interface NodeServiceSample extends ServiceSample {
  nodeId: string;
  expiresAtMs: number;
  /** False while the Envoy's stream is closed and its report counts only for the grace. */
  connected: boolean;
}

interface EnvoyState {
  /** The stream currently speaking for this node; reports from any other stream are stale. */
  streamId: number;
  connected: boolean;
  disconnectedAtMs?: number;
  samples: Map<string, ServiceSample>;
}

export class LoadAggregator {
  private readonly envoys = new Map<string, EnvoyState>();
  private readonly rejectCounts = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
  private knownServices = new Set<string>();
  private readonly limits: ReportLimits;

  private options: LoadAggregatorOptions;

  constructor(options: LoadAggregatorOptions) {
    this.options = options;
    this.limits = options.limits ?? DEFAULT_REPORT_LIMITS;
  }

  /** Changes the expiry windows (e.g. when the reporting interval changes); applies to existing samples too. */
  setExpiry(windows: Pick<LoadAggregatorOptions, 'expireAfterMs' | 'disconnectGraceMs'>): void {
    this.options = { ...this.options, ...windows };
  }

  /** The services Spillway asks Envoys to report; reports for others are rejected, samples of removed ones dropped. */
  setKnownServices(names: Iterable<string>): boolean {
    this.knownServices = new Set(names);
    let changed = false;
    for (const envoy of this.envoys.values()) {
      for (const service of envoy.samples.keys()) {
        if (!this.knownServices.has(service)) changed = envoy.samples.delete(service) || changed;
      }
    }
    return changed;
  }

  /** A node opened a stream. A newer stream for the same node takes over from the old one. */
  streamOpened(nodeId: string, streamId: number): void {
    const existing = this.envoys.get(nodeId);
    if (existing) {
      // Keep its samples: Envoy keeps counting across reconnects, so its next report continues them.
      existing.streamId = streamId;
      existing.connected = true;
      delete existing.disconnectedAtMs;
    } else {
      this.envoys.set(nodeId, { streamId, connected: true, samples: new Map() });
    }
  }

  /** A stream ended. Ignored if the node has since reconnected on another stream. */
  streamClosed(nodeId: string, streamId: number, atMs: number): void {
    const envoy = this.envoys.get(nodeId);
    if (!envoy || envoy.streamId !== streamId || !envoy.connected) return;
    envoy.connected = false;
    envoy.disconnectedAtMs = atMs;
  }

  /** Counts a rejection that happened before a report could be attributed (e.g. no node id). */
  noteRejected(reason: RejectReason): void {
    this.rejectCounts[reason]++;
  }

  ingest(nodeId: string, streamId: number, stats: readonly ClusterStats__Output[], atMs: number): IngestResult {
    const envoy = this.envoys.get(nodeId);
    if (envoy && envoy.streamId !== streamId) {
      this.noteRejected('superseded-stream');
      return { accepted: 0, rejected: ['superseded-stream'] };
    }
    const { services, rejected } = normalizeClusterStats(stats, (s) => this.knownServices.has(s), this.limits);
    for (const reason of rejected) this.noteRejected(reason);
    if (services.length > 0) {
      let state = envoy;
      if (!state) {
        this.streamOpened(nodeId, streamId);
        state = this.envoys.get(nodeId);
      }
      for (const report of services) state?.samples.set(report.service, { report, receivedAtMs: atMs });
    }
    return { accepted: services.length, rejected };
  }

  /** Forgets samples no longer live at atMs, and Envoys left with nothing. Returns whether anything went. */
  expire(atMs: number): boolean {
    let changed = false;
    for (const [nodeId, envoy] of this.envoys) {
      for (const [service, sample] of envoy.samples) {
        if (!this.isLive(envoy, sample, atMs)) {
          envoy.samples.delete(service);
          changed = true;
        }
      }
      if (!envoy.connected && envoy.samples.size === 0) this.envoys.delete(nodeId);
    }
    return changed;
  }

  /** The earliest time a live sample will expire, for callers that want to sweep exactly then. */
  nextExpiryAtMs(): number | undefined {
    let next: number | undefined;
    for (const envoy of this.envoys.values()) {
      for (const sample of envoy.samples.values()) {
        const at = this.expiresAtMs(envoy, sample);
        if (next === undefined || at < next) next = at;
      }
    }
    return next;
  }

  /**
   * Each live Envoy's latest per-endpoint report for a service's in-house locality (Envoys that do not
   * report endpoint granularity are left out), with when it was received.
   */
  endpointReports(service: string, atMs: number): ReceivedEndpointReport[] {
    const out: ReceivedEndpointReport[] = [];
    for (const [nodeId, envoy] of this.envoys) {
      const sample = envoy.samples.get(service);
      if (!sample || !this.isLive(envoy, sample, atMs) || !sample.report.inHouseEndpoints) continue;
      out.push({
        nodeId,
        localityIssued: sample.report.inHouseIssued,
        endpoints: sample.report.inHouseEndpoints,
        receivedAtMs: sample.receivedAtMs,
        windowMs: sample.report.windowMs,
      });
    }
    return out.sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  }

  /** The aggregate at atMs. Samples past their expiry are left out even if expire() was not called yet. */
  snapshot(atMs: number): LoadSnapshot {
    const acc = new Map<string, { samples: ServiceSample[] }>();
    let connectedEnvoys = 0;
    for (const envoy of this.envoys.values()) {
      if (envoy.connected) connectedEnvoys++;
      for (const [service, sample] of envoy.samples) {
        if (!this.isLive(envoy, sample, atMs)) continue;
        const entry = acc.get(service) ?? { samples: [] };
        entry.samples.push(sample);
        acc.set(service, entry);
      }
    }
    const services = [...acc.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([service, { samples }]) => sumService(service, samples, atMs));
    return { atMs, services, connectedEnvoys, rejected: { ...this.rejectCounts } };
  }

  /** Every live sample at atMs, per Envoy and service, with when it expires. */
  liveSamples(atMs: number): NodeServiceSample[] {
    const out: NodeServiceSample[] = [];
    for (const [nodeId, envoy] of this.envoys) {
      for (const sample of envoy.samples.values()) {
        const expiresAtMs = this.expiresAtMs(envoy, sample);
        if (atMs < expiresAtMs) out.push({ nodeId, ...sample, expiresAtMs, connected: envoy.connected });
      }
    }
    return out;
  }

  private expiresAtMs(envoy: EnvoyState, sample: ServiceSample): number {
    const silentAt = sample.receivedAtMs + this.options.expireAfterMs;
    if (envoy.connected || envoy.disconnectedAtMs === undefined) return silentAt;
    return Math.min(silentAt, envoy.disconnectedAtMs + this.options.disconnectGraceMs);
  }

  private isLive(envoy: EnvoyState, sample: ServiceSample, atMs: number): boolean {
    return atMs < this.expiresAtMs(envoy, sample);
  }
}

/** One service's load at atMs: the sum of the given samples (one per Envoy), aged by the newest. */
export function sumService(service: string, samples: readonly ServiceSample[], atMs: number): ServiceLoad {
  const observedAtMs = Math.max(...samples.map((s) => s.receivedAtMs));
  const oldestObservedAtMs = Math.min(...samples.map((s) => s.receivedAtMs));
  const ageMs = atMs - observedAtMs;
  const reporters = samples.length;

  const localities = {} as Record<LocalityKind, LocalityLoadReading>;
  for (const kind of LOCALITY_KINDS) {
    const rates = zeroRates();
    for (const s of samples) addRates(rates, s.report.localities[kind]);
    localities[kind] = { service, locality: kind, ...rates, observedAtMs, ageMs, reporters };
  }

  const byCategory: Record<string, number> = {};
  for (const s of samples) {
    for (const [category, rps] of Object.entries(s.report.dropsRps)) byCategory[category] = (byCategory[category] ?? 0) + rps;
  }
  const droppedRps = Object.values(byCategory).reduce((a, b) => a + b, 0);
  let offeredVariance = 0;
  for (const { report: r } of samples) {
    const dropped = Object.values(r.dropsRps).reduce((a, b) => a + b, 0);
    const offered = offeredRps({ inHouse: r.localities['in-house'], modal: r.localities.modal, drops: { droppedRps: dropped } });
    offeredVariance += offered / (r.windowMs / 1000);
  }

  return {
    service,
    localities,
    drops: { service, droppedRps, byCategory, observedAtMs, ageMs },
    reporters,
    offeredNoiseRps: Math.sqrt(offeredVariance),
    observedAtMs,
    oldestObservedAtMs,
  };
}
