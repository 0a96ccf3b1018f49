import type { GrpcH2Connection } from './grpc-h2.js';
import { TypeUrl } from '../../src/xds/type-urls.js';

export type Protocol = 'sotw' | 'delta';

/** When one stream got a new EDS version and when it wrote the ACK for it. */
export interface EdsVersionRecord {
  /** SotW version_info; delta system_version_info (or the nonce when a server sends none). */
  version: string;
  receivedAtMs: number;
  ackedAtMs: number;
  /** Serialized size of the response. */
  bytes: number;
}

/** What a stream reports to the client that owns it (counters live there, not per stream). */
export interface StreamHooks {
  synced(stream: LoadStream): void;
  edsAcked(stream: LoadStream, record: EdsVersionRecord): void;
  ended(stream: LoadStream, reason: string): void;
}

/**
 * The protocol-independent part of one simulated Envoy: identity, the Envoy subscription order
 * (CDS → EDS for the clusters' CLAs → LDS once clusters are warm → RDS for the listeners' routes),
 * a bounded EDS history and counters.
 */
export abstract class LoadStream {
  readonly edsHistory = new Map<string, EdsVersionRecord>();
  bytesReceived = 0;
  responses = 0;
  synced = false;
  ended = false;
  endReason = '';
  /** Names the stream is subscribed to for EDS and RDS, derived from CDS and LDS. */
  protected edsNames = new Set<string>();
  protected routeNames = new Set<string>();
  protected ldsRequested = false;
  private readonly ackedTypes = new Set<string>();

  constructor(
    readonly index: number,
    readonly nodeId: string,
    readonly nodeCluster: string,
    protected readonly hooks: StreamHooks,
    private readonly historyLimit: number,
  ) {}

  abstract start(connection: GrpcH2Connection): void;
  abstract close(): void;

  protected get node(): { id: string; cluster: string; user_agent_name: string } {
    return { id: this.nodeId, cluster: this.nodeCluster, user_agent_name: 'spillway-fanout-load' };
  }

  protected noteResponse(bytes: number): void {
    this.bytesReceived += bytes;
    this.responses++;
  }

  /** Called after the ACK for a response is written. */
  protected noteAck(typeUrl: string): void {
    this.ackedTypes.add(typeUrl);
    if (this.synced) return;
    const need = (t: string, names: ReadonlySet<string>): boolean => names.size === 0 || this.ackedTypes.has(t);
    if (
      this.ackedTypes.has(TypeUrl.Cluster) &&
      this.ackedTypes.has(TypeUrl.Listener) &&
      need(TypeUrl.Endpoint, this.edsNames) &&
      need(TypeUrl.Route, this.routeNames)
    ) {
      this.synced = true;
      this.hooks.synced(this);
    }
  }

  protected recordEds(record: EdsVersionRecord): void {
    this.edsHistory.set(record.version, record);
    // Bounded: a long run keeps only the newest versions.
    if (this.edsHistory.size > this.historyLimit) this.edsHistory.delete(this.edsHistory.keys().next().value as string);
    this.hooks.edsAcked(this, record);
  }

  protected end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.endReason = reason;
    this.hooks.ended(this, reason);
  }
}

/** Sorted difference helpers for subscription updates. */
export function diffNames(prev: ReadonlySet<string>, next: ReadonlySet<string>): { added: string[]; removed: string[] } {
  return {
    added: [...next].filter((n) => !prev.has(n)).sort(),
    removed: [...prev].filter((n) => !next.has(n)).sort(),
  };
}
