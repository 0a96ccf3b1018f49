// Looks each configured Modal function up, and keeps retrying with backoff while Modal's API cannot
// be reached, so Spillway starts (and serves each service's fail-safe) whatever Modal is doing. A
// permanent answer (no credentials, unknown function) on a service's first attempt fails the first
// round, which stops start-up; after that it is logged and retried at the longest backoff (the
// function may be deployed later).
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { Listeners } from '../core/listeners.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { withDeadline, type Cancel, type Scheduler } from '../core/scheduler.js';
import { backoffCeilingMs, fullJitterDelayMs, type BackoffPolicy } from './backoff.js';
import { ModalConfigError, ModalUnavailableError } from './errors.js';
import type { ModalApi, ModalFunctionHandle, ModalFunctionRef } from './types.js';

/** Where one service's lookup stands. */
export interface LookupStatus {
  service: string;
  found: boolean;
  /** Attempts made so far (the one in flight included). */
  attempts: number;
  /** Failed attempts since the last success (0 once found). */
  consecutiveFailures: number;
  lastError?: string;
  /** The last failure cannot pass by itself (no credentials, unknown function). */
  permanent: boolean;
  lastAttemptAtMs?: number;
  /** When the next attempt is due, while one is scheduled. */
  nextAttemptAtMs?: number;
  /** The ceiling the next delay was drawn under (0 while none is scheduled). */
  backoffCeilingMs: number;
}

export interface FunctionLookupOptions {
  refs: readonly ModalFunctionRef[];
  /** Connects to Modal's API once; called again after it failed. */
  connect: () => Promise<ModalApi>;
  clock: Clock;
  scheduler: Scheduler;
  logger?: Logger;
  /** An attempt still pending after this is abandoned and counted as a transient failure. */
  timeoutMs: number;
  /** Delay between failed attempts. Default 1 s doubling to 10 s, full jitter. */
  backoff?: BackoffPolicy;
  random?: () => number;
  /** Called once per service, when its function is found. */
  onFound: (handle: ModalFunctionHandle) => void;
}

interface Entry {
  ref: ModalFunctionRef;
  status: LookupStatus;
  cancelTimer: Cancel;
}

export const DEFAULT_LOOKUP_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 10_000 };

export class FunctionLookup {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Listeners<[LookupStatus]>((err) =>
    this.log.error({ error: errorMessage(err) }, 'modal lookup listener threw'),
  );
  private readonly log: Logger;
  private readonly backoff: BackoffPolicy;
  private readonly random: () => number;
  private api: Promise<ModalApi> | undefined;
  private connected: ModalApi | undefined;
  private closed = false;
  private readonly firstOutcomes = new Map<string, ModalConfigError | undefined>();
  private resolveFirst: () => void = () => {};
  private rejectFirst: (err: unknown) => void = () => {};
  /**
   * Settles once every service's first attempt has: rejects with a ModalConfigError naming every
   * service whose answer was permanent, resolves otherwise (found, or retrying a transient failure).
   */
  readonly firstRound: Promise<void>;

  constructor(private readonly opts: FunctionLookupOptions) {
    this.log = (opts.logger ?? silentLogger).child({ component: 'modal-lookup' });
    this.backoff = opts.backoff ?? DEFAULT_LOOKUP_BACKOFF;
    this.random = opts.random ?? Math.random;
    for (const ref of opts.refs) {
      const status: LookupStatus = {
        service: ref.service,
        found: false,
        attempts: 0,
        consecutiveFailures: 0,
        permanent: false,
        backoffCeilingMs: 0,
      };
      this.entries.set(ref.service, { ref, status, cancelTimer: () => {} });
    }
    this.firstRound = new Promise<void>((resolve, reject) => {
      this.resolveFirst = resolve;
      this.rejectFirst = reject;
    });
    // A caller that never awaits it must not see an unhandled rejection.
    this.firstRound.catch(() => {});
    if (this.entries.size === 0) this.resolveFirst();
  }

  /** Starts the first attempt of every service now (not on a timer: start-up may await the first round). */
  start(): void {
    for (const e of this.entries.values()) void this.attempt(e);
  }

  status(service: string): LookupStatus | undefined {
    const e = this.entries.get(service);
    return e ? { ...e.status } : undefined;
  }

  /** Called after every attempt, good or bad. */
  onStatus(fn: (s: LookupStatus) => void): Cancel {
    return this.listeners.add(fn);
  }

  /** The API connection, once made (closed by close()). */
  connection(): ModalApi | undefined {
    return this.connected;
  }

  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) e.cancelTimer();
    this.connected?.close();
    this.listeners.clear();
  }

  private schedule(e: Entry, delayMs: number): void {
    e.cancelTimer();
    if (this.closed) return;
    e.status = { ...e.status, ...(delayMs > 0 ? { nextAttemptAtMs: this.opts.clock.nowMs() + delayMs } : {}) };
    e.cancelTimer = this.opts.scheduler.after(delayMs, () => void this.attempt(e));
  }

  private async attempt(e: Entry): Promise<void> {
    if (this.closed) return;
    const service = e.ref.service;
    const { nextAttemptAtMs: _done, ...rest } = e.status;
    e.status = { ...rest, attempts: rest.attempts + 1, lastAttemptAtMs: this.opts.clock.nowMs() };
    let handle: ModalFunctionHandle | undefined;
    let failure: unknown;
    try {
      handle = await this.withTimeout(e.ref, this.lookup(e.ref));
    } catch (err) {
      failure = err;
    }
    if (this.closed) return;
    if (handle) {
      if (e.status.consecutiveFailures > 0)
        this.log.info({ service, attempts: e.status.attempts }, 'Modal function looked up after retries');
      e.status = { service, found: true, attempts: e.status.attempts, consecutiveFailures: 0, permanent: false, backoffCeilingMs: 0 };
      this.opts.onFound(handle);
      this.noteFirst(service, undefined);
      this.listeners.emit({ ...e.status });
      return;
    }
    const permanent = failure instanceof ModalConfigError;
    const failures = e.status.consecutiveFailures + 1;
    const ceiling = permanent ? this.backoff.maxMs : backoffCeilingMs(failures, this.backoff);
    const delay = permanent ? this.backoff.maxMs : fullJitterDelayMs(failures, this.backoff, this.random);
    const message = errorMessage(failure);
    e.status = { ...e.status, consecutiveFailures: failures, lastError: message, permanent, backoffCeilingMs: ceiling };
    const first = !this.firstOutcomes.has(service);
    // One line when it breaks, then debug: an outage of hours must not flood the log.
    const level = permanent && !first ? 'error' : failures === 1 ? 'warn' : 'debug';
    this.log[level]({ service, failures, permanent, error: message, retryInMs: Math.round(delay) }, 'Modal function lookup failed');
    this.noteFirst(service, permanent ? toConfigError(service, failure) : undefined);
    // After a permanent first answer start-up stops (close() cancels this); later ones keep trying.
    this.schedule(e, delay);
    this.listeners.emit({ ...e.status });
  }

  private async lookup(ref: ModalFunctionRef): Promise<ModalFunctionHandle> {
    let api: ModalApi;
    try {
      api = await this.connectOnce();
    } catch (err) {
      // Not being able to build a client at all (bad profile file, say) is a configuration problem.
      throw toConfigError(ref.service, err);
    }
    return api.lookup(ref);
  }

  private connectOnce(): Promise<ModalApi> {
    this.api ??= this.opts.connect().then(
      (api) => {
        if (this.closed) api.close();
        else this.connected = api;
        return api;
      },
      (err: unknown) => {
        this.api = undefined;
        throw err;
      },
    );
    return this.api;
  }

  /** An attempt, cut after timeoutMs on the scheduler (even in virtual time). */
  private withTimeout<T>(ref: ModalFunctionRef, call: Promise<T>): Promise<T> {
    const ms = this.opts.timeoutMs;
    return withDeadline(
      this.opts.scheduler,
      ms,
      call,
      () =>
        new ModalUnavailableError(ref.service, `looking up Modal function '${ref.appName}/${ref.functionName}' timed out after ${ms} ms`),
    );
  }

  private noteFirst(service: string, err: ModalConfigError | undefined): void {
    if (this.firstOutcomes.has(service)) return;
    this.firstOutcomes.set(service, err);
    if (this.firstOutcomes.size < this.entries.size) return;
    const failures = [...this.firstOutcomes.values()].filter((f): f is ModalConfigError => f !== undefined);
    if (failures.length === 0) return this.resolveFirst();
    // Every broken service at once: fixing config one restart at a time is tedious.
    const [one] = failures;
    this.rejectFirst(failures.length === 1 ? one : new ModalConfigError(one!.service, failures.map((f) => f.message).join('; ')));
  }
}

function toConfigError(service: string, err: unknown): ModalConfigError {
  return err instanceof ModalConfigError ? err : new ModalConfigError(service, errorMessage(err));
}
