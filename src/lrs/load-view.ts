// The read side of LRS: the demand signal the capacity controller consumes. Readers get snapshots
// and change notifications; only the LRS server writes (through the aggregator it owns).
import { Listeners } from '../core/listeners.js';
import type { Clock } from '../core/clock.js';
import type { ReceivedEndpointReport } from '../model/host-health.js';
import type {
  LoadAggregator,
  LoadSnapshot,
  LocalityLoadReading,
  NodeServiceSample,
  ServiceDropsReading,
  ServiceLoad,
} from './load-aggregator.js';

export type { LoadSnapshot, LocalityLoadReading, NodeServiceSample, ServiceDropsReading, ServiceLoad } from './load-aggregator.js';
export type { RejectReason } from './load-report.js';

export type LoadListener = (snapshot: LoadSnapshot) => void;

export interface LoadView {
  /** Aggregate load now: per service, both localities and drops, each with its age. */
  snapshot(): LoadSnapshot;
  /** One service's load now, or undefined when no Envoy has a live report for it. */
  service(name: string): ServiceLoad | undefined;
  /** Every live locality figure, flattened (two per service). */
  localityLoads(): LocalityLoadReading[];
  serviceDrops(): ServiceDropsReading[];
  /** Each live Envoy's latest per-endpoint counts for a service's in-house locality. */
  endpointReports(service: string): ReceivedEndpointReport[];
  /** Called with a fresh snapshot after each accepted report, expiry, and Envoy connect/disconnect. Returns unsubscribe. */
  subscribe(listener: LoadListener): () => void;
}

/** The LRS server's own view: also the per-Envoy samples behind the sums (what replicas share). */
export interface LocalLoadView extends LoadView {
  /** Every live report now, per Envoy and service. */
  nodeSamples(): NodeServiceSample[];
}

export class AggregatedLoadView implements LocalLoadView {
  private readonly listeners = new Listeners<[LoadSnapshot]>();

  constructor(
    private readonly clock: Clock,
    private readonly aggregator: LoadAggregator,
  ) {}

  snapshot(): LoadSnapshot {
    return this.aggregator.snapshot(this.clock.nowMs());
  }

  service(name: string): ServiceLoad | undefined {
    return this.snapshot().services.find((s) => s.service === name);
  }

  localityLoads(): LocalityLoadReading[] {
    return this.snapshot().services.flatMap((s) => [s.localities['in-house'], s.localities.modal]);
  }

  serviceDrops(): ServiceDropsReading[] {
    return this.snapshot().services.map((s) => s.drops);
  }

  endpointReports(service: string): ReceivedEndpointReport[] {
    return this.aggregator.endpointReports(service, this.clock.nowMs());
  }

  nodeSamples(): NodeServiceSample[] {
    return this.aggregator.liveSamples(this.clock.nowMs());
  }

  subscribe(listener: LoadListener): () => void {
    return this.listeners.add(listener);
  }

  /** Tells subscribers the aggregate changed. Called by the LRS server only. */
  notifyChanged(): void {
    if (this.listeners.size === 0) return;
    this.listeners.emit(this.snapshot());
  }
}
