import { GrpcH2Connection } from './grpc-h2.js';
import { DeltaLoadStream } from './delta-load-stream.js';
import type { EdsVersionRecord, LoadStream, Protocol, StreamHooks } from './load-stream.js';
import { SotwLoadStream } from './sotw-load-stream.js';

export type { EdsVersionRecord, Protocol } from './load-stream.js';

export interface LoadOptions {
  /** host:port of any ADS server. */
  target: string;
  streams: number;
  protocol: Protocol;
  /** Streams multiplexed on one HTTP/2 connection. */
  streamsPerChannel?: number;
  /** Upper bound on stream opens per second, so the server sees a ramp rather than a SYN flood. */
  openPerSecond?: number;
  nodePrefix?: string;
  nodeCluster?: string;
  /** EDS versions remembered per stream. */
  historyPerStream?: number;
}

export interface LoadStats {
  opened: number;
  synced: number;
  ended: number;
  responses: number;
  bytesReceived: number;
  endReasons: string[];
}

interface VersionWaiter {
  version: string;
  resolve: () => void;
}

/**
 * N simulated Envoys on one ADS server: opens streams at a bounded rate over several connections
 * and tracks, per EDS version, how many streams have ACKed it. Usable from the CLI (main.ts), the
 * benchmark (run-fanout.ts) and tests.
 */
export class AdsLoadClient {
  readonly streams: LoadStream[] = [];
  private readonly channels: GrpcH2Connection[] = [];
  private readonly opts: Required<LoadOptions>;
  private syncedCount = 0;
  private endedCount = 0;
  private readonly endReasons = new Map<string, number>();
  /** EDS version → number of streams that ACKed it (bounded to recent versions). */
  private readonly ackCounts = new Map<string, number>();
  private versionWaiters: VersionWaiter[] = [];
  private syncWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  /** Streams that ended before they synced: they never will. */
  private endedUnsynced = 0;
  private closed = false;

  constructor(options: LoadOptions) {
    this.opts = {
      streamsPerChannel: 100,
      openPerSecond: 1000,
      nodePrefix: 'load',
      nodeCluster: 'fanout-load',
      historyPerStream: 64,
      ...options,
    };
  }

  /**
   * Opens streams up to `upTo` (default: all of them), continuing from those already open, without
   * waiting for them to sync. Opening in two steps lets a run measure between them.
   */
  async open(upTo = this.opts.streams): Promise<void> {
    const { streamsPerChannel, openPerSecond } = this.opts;
    const until = Math.min(upTo, this.opts.streams);
    // Open in small batches every 10 ms: a bounded rate without a timer per stream.
    const perTick = Math.max(1, Math.round(openPerSecond / 100));
    const hooks: StreamHooks = {
      synced: () => this.onSynced(),
      edsAcked: (_s, record) => this.onEdsAck(record),
      ended: (s, reason) => this.onEnded(reason, s.synced),
    };
    const from = this.streams.length;
    for (let i = from; i < until && !this.closed; i++) {
      if (i > from && (i - from) % perTick === 0) await sleep(10);
      const channelIndex = Math.floor(i / streamsPerChannel);
      const channel = this.channels[channelIndex] ?? new GrpcH2Connection(this.opts.target);
      this.channels[channelIndex] = channel;
      const nodeId = `${this.opts.nodePrefix}-${String(i).padStart(5, '0')}`;
      const stream =
        this.opts.protocol === 'sotw'
          ? new SotwLoadStream(i, nodeId, this.opts.nodeCluster, hooks, this.opts.historyPerStream)
          : new DeltaLoadStream(i, nodeId, this.opts.nodeCluster, hooks, this.opts.historyPerStream);
      this.streams.push(stream);
      stream.start(channel);
    }
  }

  /** Resolves once every stream opened so far has ACKed CDS, EDS, LDS and RDS at least once. */
  async waitSynced(timeoutMs: number): Promise<void> {
    if (this.allSynced()) return;
    const synced = new Promise<void>((resolve, reject) => this.syncWaiters.push({ resolve, reject }));
    // With the waiter registered, so a stream that already ended unsynced fails it now.
    this.failIfSyncImpossible();
    await withTimeout(synced, timeoutMs, () => `streams not synced: ${JSON.stringify(this.stats())}`);
  }

  /** Resolves once every live stream has ACKed this EDS version. */
  async waitEdsVersion(version: string, timeoutMs: number): Promise<void> {
    if (this.versionDone(version)) return;
    let waiter: VersionWaiter | undefined;
    const done = new Promise<void>((resolve) => {
      waiter = { version, resolve };
      this.versionWaiters.push(waiter);
    });
    try {
      await withTimeout(
        done,
        timeoutMs,
        () => `EDS version ${version}: ${this.ackCounts.get(version) ?? 0} of ${this.liveStreams()} streams ACKed`,
      );
    } finally {
      this.versionWaiters = this.versionWaiters.filter((w) => w !== waiter);
    }
  }

  /** Per stream, the record of this EDS version (undefined where a stream never got it). */
  edsRecords(version: string): Array<EdsVersionRecord | undefined> {
    return this.streams.map((s) => s.edsHistory.get(version));
  }

  stats(): LoadStats {
    let responses = 0;
    let bytesReceived = 0;
    for (const s of this.streams) {
      responses += s.responses;
      bytesReceived += s.bytesReceived;
    }
    return {
      opened: this.streams.length,
      synced: this.syncedCount,
      ended: this.endedCount,
      responses,
      bytesReceived,
      endReasons: [...this.endReasons].map(([r, n]) => `${n}× ${r}`),
    };
  }

  close(): void {
    this.closed = true;
    for (const s of this.streams) s.close();
    for (const c of this.channels) c.close();
  }

  private liveStreams(): number {
    return this.opts.streams - this.endedCount;
  }

  private allSynced(): boolean {
    return this.streams.length > 0 && this.syncedCount >= this.streams.length;
  }

  private versionDone(version: string): boolean {
    return (this.ackCounts.get(version) ?? 0) >= this.liveStreams();
  }

  private onSynced(): void {
    this.syncedCount++;
    if (!this.allSynced()) return;
    const w = this.syncWaiters;
    this.syncWaiters = [];
    for (const { resolve } of w) resolve();
  }

  /** Once a stream has ended unsynced, "all synced" can never happen: say why instead of timing out. */
  private failIfSyncImpossible(): void {
    if (this.endedUnsynced === 0 || this.syncWaiters.length === 0) return;
    const w = this.syncWaiters;
    this.syncWaiters = [];
    const err = new Error(`${this.endedUnsynced} stream(s) ended before syncing: ${JSON.stringify(this.stats().endReasons)}`);
    for (const { reject } of w) reject(err);
  }

  private onEdsAck(record: EdsVersionRecord): void {
    const n = (this.ackCounts.get(record.version) ?? 0) + 1;
    this.ackCounts.set(record.version, n);
    if (this.ackCounts.size > 256) this.ackCounts.delete(this.ackCounts.keys().next().value as string);
    if (this.versionWaiters.length === 0) return;
    for (const w of this.versionWaiters) if (w.version === record.version && this.versionDone(w.version)) w.resolve();
  }

  private onEnded(reason: string, synced: boolean): void {
    if (this.closed) return;
    this.endedCount++;
    if (!synced) this.endedUnsynced++;
    this.endReasons.set(reason, (this.endReasons.get(reason) ?? 0) + 1);
    this.failIfSyncImpossible();
    // A stream that died no longer counts towards "all": let waiters re-check.
    for (const w of this.versionWaiters) if (this.versionDone(w.version)) w.resolve();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function withTimeout<T>(p: Promise<T>, ms: number, describe: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${describe()}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
