// Every replica's copy of the group's keys: a consistent read of the whole prefix, then a watch from
// the revision after it, applied in order, one etcd response (one transaction) at a time. The copy
// is always a state etcd actually had at `revision()`. When the watch cannot resume (its revision
// was compacted away while etcd was unreachable, or etcd cancelled it) the copy is read again whole
// and the difference applied, so nothing is missed. While etcd is unreachable the copy stays as it
// was: a replica serves the last state it saw.
import type { IKeyValue, IWatchResponse, Namespace, Watcher } from 'etcd3';
import { errorMessage } from '../core/errors.js';
import { Listeners } from '../core/listeners.js';
import type { Logger } from '../core/logger.js';
import type { Cancel, Scheduler } from '../core/scheduler.js';

export interface MirrorEntry {
  key: string;
  value: string;
  createRevision: bigint;
  modRevision: bigint;
  /** The lease the key is bound to ('0': none). */
  lease: string;
}

export type MirrorChange = { kind: 'put'; entry: MirrorEntry } | { kind: 'delete'; key: string; previous: MirrorEntry | undefined };

/**
 * Where a batch comes from: a whole read of the group (its state, written at any time before) or the
 * watch (written just now, or while the watch was resuming after a break).
 */
export const MirrorOrigin = { Read: 'read', Watch: 'watch' } as const;
export type MirrorOrigin = (typeof MirrorOrigin)[keyof typeof MirrorOrigin];

export interface MirrorOptions {
  group: Namespace;
  scheduler: Scheduler;
  logger: Logger;
}

const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 2_000;

export class GroupMirror {
  private readonly entries = new Map<string, MirrorEntry>();
  private rev = 0n;
  private watcher: Watcher | undefined;
  private linked = false;
  private closed = false;
  private retryMs = RETRY_MIN_MS;
  private cancelRetry: Cancel = () => {};
  private readonly batches: Listeners<[readonly MirrorChange[], MirrorOrigin]>;
  private readonly links = new Listeners<[boolean]>();
  private readonly waiters: Array<{ rev: bigint; resolve: () => void }> = [];
  private readonly log: Logger;

  constructor(private readonly opts: MirrorOptions) {
    this.log = opts.logger.child({ component: 'ha-mirror' });
    // A listener's bug must not stop the copy from following etcd.
    this.batches = new Listeners<[readonly MirrorChange[], MirrorOrigin]>((err) =>
      this.log.error({ error: errorMessage(err) }, 'applying group state failed'),
    );
  }

  /** The etcd revision the copy is at (0n before the first read). */
  revision(): bigint {
    return this.rev;
  }

  /** True while the watch is established: the copy follows etcd live. */
  connected(): boolean {
    return this.linked;
  }

  get(key: string): MirrorEntry | undefined {
    return this.entries.get(key);
  }

  /** Entries whose key starts with prefix, in key order. */
  list(prefix: string): MirrorEntry[] {
    return [...this.entries.values()].filter((e) => e.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Called with every batch of changes, in revision order (the first read is one batch of puts), and where it came from. */
  onChanges(fn: (changes: readonly MirrorChange[], origin: MirrorOrigin) => void): () => void {
    return this.batches.add(fn);
  }

  /** Called when the watch goes up or down. */
  onConnection(fn: (connected: boolean) => void): () => void {
    return this.links.add(fn);
  }

  /** Resolves once the copy has reached revision rev (e.g. after this replica's own write). */
  reached(rev: bigint): Promise<void> {
    if (this.rev >= rev) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ rev, resolve }));
  }

  /** Reads the whole group once (retrying until etcd answers), then follows it. */
  async start(): Promise<void> {
    for (;;) {
      if (this.closed) return;
      try {
        await this.resync();
        return;
      } catch (err) {
        this.log.warn({ error: errorMessage(err), retryInMs: this.retryMs }, 'cannot read the group state from etcd; retrying');
        await new Promise<void>((r) => (this.cancelRetry = this.opts.scheduler.after(this.nextRetry(), r)));
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelRetry();
    const w = this.watcher;
    this.watcher = undefined;
    await w?.cancel().catch(() => {});
  }

  private nextRetry(): number {
    const ms = this.retryMs;
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    return ms;
  }

  /** A consistent read of everything; the difference to the copy is applied as one batch; then a watch from there. */
  private async resync(): Promise<void> {
    const old = this.watcher;
    this.watcher = undefined;
    await old?.cancel().catch(() => {});
    const res = await this.opts.group.getAll().exec();
    const rev = BigInt(res.header.revision);
    const seen = new Set<string>();
    const changes: MirrorChange[] = [];
    for (const kv of res.kvs) {
      const entry = toEntry(kv);
      seen.add(entry.key);
      const had = this.entries.get(entry.key);
      if (had && had.modRevision === entry.modRevision) continue;
      this.entries.set(entry.key, entry);
      changes.push({ kind: 'put', entry });
    }
    for (const [key, previous] of this.entries) {
      if (seen.has(key)) continue;
      this.entries.delete(key);
      changes.push({ kind: 'delete', key, previous });
    }
    // A whole read defines the state, even at a lower revision (an etcd restored from scratch).
    this.rev = rev;
    if (changes.length > 0) this.batches.emit(changes, MirrorOrigin.Read);
    this.advance(rev);
    await this.watchFrom(rev + 1n);
    this.retryMs = RETRY_MIN_MS;
  }

  private async watchFrom(rev: bigint): Promise<void> {
    if (this.closed) return;
    const w = await this.opts.group.watch().prefix('').startRevision(rev.toString()).create();
    if (this.closed) {
      await w.cancel().catch(() => {});
      return;
    }
    this.watcher = w;
    this.setLinked(true);
    w.on('data', (res: IWatchResponse) => this.apply(res));
    w.on('connected', () => this.setLinked(true));
    w.on('disconnected', (err) => {
      if (this.linked) this.log.warn({ error: errorMessage(err) }, 'etcd watch disconnected; serving the last state seen');
      this.setLinked(false);
    });
    // Cancelled by etcd (typically: the revision to resume from was compacted). Read everything again.
    w.on('error', (err) => {
      if (this.watcher !== w) return;
      this.log.warn({ error: errorMessage(err) }, 'etcd watch cancelled; reading the group state again');
      this.setLinked(false);
      this.watcher = undefined;
      void this.start();
    });
  }

  private apply(res: IWatchResponse): void {
    if (this.watcher === undefined) return;
    const changes: MirrorChange[] = [];
    for (const ev of res.events) {
      const key = ev.kv.key.toString();
      if (ev.type === 'Put') {
        const entry = toEntry(ev.kv);
        this.entries.set(key, entry);
        changes.push({ kind: 'put', entry });
      } else {
        const previous = this.entries.get(key);
        this.entries.delete(key);
        changes.push({ kind: 'delete', key, previous });
      }
    }
    const rev = BigInt(res.header.revision);
    // Listeners see the revision the batch brings the copy to.
    if (rev > this.rev) this.rev = rev;
    if (changes.length > 0) this.batches.emit(changes, MirrorOrigin.Watch);
    this.advance(rev);
  }

  private advance(rev: bigint): void {
    if (rev > this.rev) this.rev = rev;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.rev <= this.rev) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  private setLinked(up: boolean): void {
    if (this.linked === up) return;
    this.linked = up;
    this.links.emit(up);
  }
}

function toEntry(kv: IKeyValue): MirrorEntry {
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    createRevision: BigInt(kv.create_revision),
    modRevision: BigInt(kv.mod_revision),
    lease: kv.lease,
  };
}
