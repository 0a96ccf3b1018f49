// A replica's session with etcd: one lease, kept alive by etcd3, that carries every key the replica
// owns while it lives (its election key, its member key, its load). Besides etcd3's own events it
// keeps, on a monotonic clock, the time until which etcd surely still holds the lease: every
// keepalive is stamped when it is sent, and its answer extends the lease from that moment. A leader
// stops acting on that deadline, without waiting for etcd3 to notice the loss (which takes 2 × TTL).
// A lost lease is granted anew (the old one revoked, best effort, once etcd answers again: etcd keeps
// leases across its own restart, and a stale election key would block the next leader for a TTL).
import type { Lease, Namespace } from 'etcd3';
import { errorMessage } from '../core/errors.js';
import { Listeners } from '../core/listeners.js';
import type { Logger } from '../core/logger.js';
import type { Cancel, Scheduler } from '../core/scheduler.js';

export interface SessionOptions {
  group: Namespace;
  ttlS: number;
  scheduler: Scheduler;
  logger: Logger;
  /** Monotonic milliseconds (default performance.now): wall-clock steps must not extend a lease. */
  monotonicMs?: () => number;
}

const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 2_000;

export class Session {
  private lease: Lease | undefined;
  private id: string | undefined;
  private validUntil = 0;
  private fired: number[] = [];
  private closed = false;
  private retryMs = RETRY_MIN_MS;
  private cancelRetry: Cancel = () => {};
  /** Leases lost while etcd was unreachable: revoked once it answers again. */
  private readonly stale = new Set<string>();
  private readonly ups = new Listeners<[string]>();
  private readonly losses = new Listeners<[string]>();
  private readonly renewals = new Listeners<[]>();
  private readonly log: Logger;
  private readonly mono: () => number;

  constructor(private readonly opts: SessionOptions) {
    this.log = opts.logger.child({ component: 'ha-session' });
    this.mono = opts.monotonicMs ?? (() => performance.now());
  }

  /** The lease id (decimal) while the session is up. */
  leaseId(): string | undefined {
    return this.id;
  }

  /** Milliseconds, on the monotonic clock, during which etcd surely still holds the lease (≤ 0: none known). */
  remainingMs(): number {
    return this.id === undefined ? 0 : this.validUntil - this.mono();
  }

  /** Called with the lease id whenever a lease is granted. */
  onUp(fn: (leaseId: string) => void): () => void {
    return this.ups.add(fn);
  }

  /** Called with the old lease id when etcd3 reports it lost (expired, revoked, or unreachable for 2 × TTL). */
  onLost(fn: (leaseId: string) => void): () => void {
    return this.losses.add(fn);
  }

  /** Called after every acknowledged keepalive. */
  onRenewed(fn: () => void): () => void {
    return this.renewals.add(fn);
  }

  start(): void {
    void this.grant();
  }

  /** Revokes the lease (its keys go at once, so another replica takes over without waiting a TTL). */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelRetry();
    const lease = this.lease;
    this.lease = undefined;
    this.id = undefined;
    await lease?.revoke().catch(() => {});
  }

  private async grant(): Promise<void> {
    if (this.closed) return;
    const sentAt = this.mono();
    const lease = this.opts.group.lease(this.opts.ttlS);
    // Before the grant is answered etcd3 reports a failed grant as 'lost' too: that is handled below.
    let granted = false;
    lease.on('keepaliveEstablished', () => (this.fired = []));
    lease.on('keepaliveFired', () => this.fired.push(this.mono()));
    lease.on('keepaliveSucceeded', (res) => {
      const sent = this.fired.shift() ?? this.mono();
      this.validUntil = Math.max(this.validUntil, sent + Number(res.TTL) * 1000);
      this.renewals.emit();
      if (this.stale.size > 0) void this.revokeStale();
    });
    lease.on('keepaliveFailed', (err) => {
      this.fired = [];
      this.log.debug({ error: errorMessage(err) }, 'etcd lease keepalive failed');
    });
    lease.on('lost', (err) => {
      if (!granted || this.lease !== lease) return;
      const id = this.id;
      this.lease = undefined;
      this.id = undefined;
      this.validUntil = 0;
      this.log.warn({ lease: id, error: errorMessage(err) }, 'etcd lease lost; granting a new one');
      if (id !== undefined) {
        this.stale.add(id);
        this.losses.emit(id);
      }
      this.retryLater();
    });
    let id: string;
    try {
      id = await lease.grant();
    } catch (err) {
      lease.release();
      this.log.debug({ error: errorMessage(err) }, 'etcd lease grant failed');
      this.retryLater();
      return;
    }
    if (this.closed) {
      await lease.revoke().catch(() => {});
      return;
    }
    granted = true;
    this.lease = lease;
    this.id = id;
    this.validUntil = sentAt + this.opts.ttlS * 1000;
    this.retryMs = RETRY_MIN_MS;
    this.log.info({ lease: id, ttlS: this.opts.ttlS }, 'etcd lease granted');
    void this.revokeStale();
    this.ups.emit(id);
  }

  private retryLater(): void {
    if (this.closed) return;
    this.cancelRetry();
    const wait = this.retryMs;
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    this.cancelRetry = this.opts.scheduler.after(wait, () => void this.grant());
  }

  private async revokeStale(): Promise<void> {
    for (const id of [...this.stale]) {
      try {
        await this.opts.group.leaseClient.leaseRevoke({ ID: id });
        this.stale.delete(id);
        this.log.info({ lease: id }, 'revoked the lease lost earlier (its keys are gone)');
      } catch (err) {
        // Unknown lease: it expired already, nothing to do. Anything else: try again later.
        if (/not found|expired|revoked/i.test(errorMessage(err))) this.stale.delete(id);
      }
    }
  }
}
