// Tallies one load run: per-second buckets (emitted as `second` records) and the whole-run totals
// (the `summary` record). Field names are snake_case because they are the JSON-lines format.
import { summarizeLatencies, type LatencySummary } from './percentiles.js';
import { TIERS, type Attribution, type Tier } from './tier.js';

export interface SecondRecord {
  type: 'second';
  /** Second index from the start of the run; seconds ≥ the scenario's duration are the drain. */
  t: number;
  /** The scenario's mean rate over [t, t+1). */
  target_rps: number;
  /** Poisson arrivals scheduled in this second: sent + dropped_by_client. */
  arrivals: number;
  sent: number;
  /** Arrivals that found the concurrency cap full: not sent, never queued. */
  dropped_by_client: number;
  /** HTTP responses (any status) that finished in this second. */
  completed: number;
  /** Requests that ended in this second without a response (refused, reset, timeout). */
  errors: number;
  in_flight: number;
  tiers: Record<Tier, number>;
  status: Record<string, number>;
  error_kinds: Record<string, number>;
  /** Over the responses completed in this second; null when none. */
  latency_ms: LatencySummary | null;
  /** Distinct Modal containers that answered in this second. */
  modal_containers: number;
}

export interface LoadSummary {
  type: 'summary';
  scenario: string;
  url: string;
  seed: number;
  duration_s: number;
  elapsed_s: number;
  expected_arrivals: number;
  arrivals: number;
  sent: number;
  dropped_by_client: number;
  completed: number;
  errors: number;
  /** In flight when the run was stopped early or the drain deadline passed; abandoned, not errors. */
  cancelled: number;
  stopped_early: boolean;
  max_in_flight: number;
  tiers: Record<Tier, number>;
  status: Record<string, number>;
  error_kinds: Record<string, number>;
  latency_ms: LatencySummary | null;
  latency_ms_by_tier: Partial<Record<Tier, LatencySummary>>;
  /** Responses per in-house host / Modal container. */
  served_by: Record<string, number>;
  modal_containers: number;
}

interface Bucket {
  arrivals: number;
  sent: number;
  dropped: number;
  completed: number;
  errors: number;
  tiers: Record<Tier, number>;
  status: Record<string, number>;
  errorKinds: Record<string, number>;
  latencies: number[];
  containers: Set<string>;
}

export class LoadRecorder {
  private readonly buckets = new Map<number, Bucket>();
  private readonly totals = newBucket();
  private readonly latenciesByTier = new Map<Tier, number[]>();
  private readonly servedBy: Record<string, number> = {};
  private maxInFlight = 0;

  arrival(second: number, sent: boolean, inFlight: number): void {
    for (const b of [this.bucket(second), this.totals]) {
      b.arrivals++;
      if (sent) b.sent++;
      else b.dropped++;
    }
    this.maxInFlight = Math.max(this.maxInFlight, inFlight);
  }

  response(second: number, latencyMs: number, status: number, who: Attribution): void {
    for (const b of [this.bucket(second), this.totals]) {
      b.completed++;
      b.tiers[who.tier]++;
      inc(b.status, String(status));
      b.latencies.push(latencyMs);
      if (who.tier === 'modal' && who.server !== undefined) b.containers.add(who.server);
    }
    const perTier = this.latenciesByTier.get(who.tier) ?? [];
    perTier.push(latencyMs);
    this.latenciesByTier.set(who.tier, perTier);
    if (who.server !== undefined) inc(this.servedBy, who.server);
  }

  failure(second: number, kind: string): void {
    for (const b of [this.bucket(second), this.totals]) {
      b.errors++;
      inc(b.errorKinds, kind);
    }
  }

  /** The record for second t; forgets the bucket (each second is emitted once). */
  takeSecond(t: number, targetRps: number, inFlight: number): SecondRecord {
    const b = this.buckets.get(t) ?? newBucket();
    this.buckets.delete(t);
    return {
      type: 'second',
      t,
      target_rps: Math.round(targetRps * 100) / 100,
      arrivals: b.arrivals,
      sent: b.sent,
      dropped_by_client: b.dropped,
      completed: b.completed,
      errors: b.errors,
      in_flight: inFlight,
      tiers: b.tiers,
      status: b.status,
      error_kinds: b.errorKinds,
      latency_ms: summarizeLatencies(b.latencies),
      modal_containers: b.containers.size,
    };
  }

  summary(run: {
    scenario: string;
    url: string;
    seed: number;
    durationS: number;
    elapsedS: number;
    expectedArrivals: number;
    cancelled: number;
    stoppedEarly: boolean;
  }): LoadSummary {
    const t = this.totals;
    const byTier: Partial<Record<Tier, LatencySummary>> = {};
    for (const [tier, xs] of this.latenciesByTier) {
      const s = summarizeLatencies(xs);
      if (s) byTier[tier] = s;
    }
    return {
      type: 'summary',
      scenario: run.scenario,
      url: run.url,
      seed: run.seed,
      duration_s: run.durationS,
      elapsed_s: Math.round(run.elapsedS * 1000) / 1000,
      expected_arrivals: Math.round(run.expectedArrivals * 10) / 10,
      arrivals: t.arrivals,
      sent: t.sent,
      dropped_by_client: t.dropped,
      completed: t.completed,
      errors: t.errors,
      cancelled: run.cancelled,
      stopped_early: run.stoppedEarly,
      max_in_flight: this.maxInFlight,
      tiers: t.tiers,
      status: t.status,
      error_kinds: t.errorKinds,
      latency_ms: summarizeLatencies(t.latencies),
      latency_ms_by_tier: byTier,
      served_by: this.servedBy,
      modal_containers: t.containers.size,
    };
  }

  private bucket(second: number): Bucket {
    let b = this.buckets.get(second);
    if (!b) {
      b = newBucket();
      this.buckets.set(second, b);
    }
    return b;
  }
}

function newBucket(): Bucket {
  const tiers = Object.fromEntries(TIERS.map((t) => [t, 0])) as Record<Tier, number>;
  return {
    arrivals: 0,
    sent: 0,
    dropped: 0,
    completed: 0,
    errors: 0,
    tiers,
    status: {},
    errorKinds: {},
    latencies: [],
    containers: new Set(),
  };
}

function inc(m: Record<string, number>, k: string): void {
  m[k] = (m[k] ?? 0) + 1;
}
