// Polls each Modal function's current stats on its own timer. Failures are data: they bump the
// service's consecutive-failure count and stretch its next poll, and never throw out of the poller.
import { Listeners } from '../core/listeners.js';
import type { Clock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { withDeadline, type Cancel, type Scheduler } from '../core/scheduler.js';
import { errorMessage } from '../core/errors.js';
import type { ModalStatsSample, ModalStatsStatus } from '../model/inputs.js';
import { backoffCeilingMs, fullJitterDelayMs, type BackoffPolicy } from './backoff.js';
import { ModalTimeoutError, modalFailureOf } from './errors.js';
import { sampleAgeMs, toModalStatsSample } from './stats-mapping.js';
import type { ModalFunctionHandle, RawFunctionStats } from './types.js';

export interface ModalStatsPollerOptions {
  handles: readonly ModalFunctionHandle[];
  clock: Clock;
  scheduler: Scheduler;
  logger?: Logger;
  /** Time between polls while healthy. Default 2000 ms. */
  intervalMs?: number;
  /** A stats call still pending after this is abandoned and counted as a failure. Default 5000 ms. */
  timeoutMs?: number;
  /** Backoff after failures. Default base = intervalMs, max = 30 s. */
  backoff?: BackoffPolicy;
  /** Uniform [0,1) source for jitter; injectable so tests can pin it. */
  random?: () => number;
}

/** A service's feed state as the admin API and tests read it. */
export interface ModalPollerStatus extends ModalStatsStatus {
  /** Age of `last` when status() was called. */
  ageMs?: number;
  /** Delay chosen before the next poll (interval when healthy, jittered backoff after a failure). */
  nextDelayMs?: number;
  /** The backoff ceiling that delay was drawn under; 0 when healthy. */
  backoffCeilingMs: number;
}

export type SampleListener = (sample: ModalStatsSample) => void;
export type StatusListener = (status: ModalStatsStatus) => void;

interface ServiceFeed {
  handle: ModalFunctionHandle;
  status: ModalStatsStatus;
  nextDelayMs?: number;
  backoffCeilingMs: number;
  cancelTimer: Cancel;
  inFlight?: AbortController;
}

export class ModalStatsPoller {
  private readonly feeds = new Map<string, ServiceFeed>();
  private readonly onListenerError = (err: unknown): void => this.log.error({ error: errorMessage(err) }, 'modal stats listener threw');
  private readonly sampleListeners = new Listeners<[ModalStatsSample]>(this.onListenerError);
  private readonly statusListeners = new Listeners<[ModalStatsStatus]>(this.onListenerError);
  private readonly log: Logger;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly backoff: BackoffPolicy;
  private readonly random: () => number;
  private running = false;

  constructor(private readonly opts: ModalStatsPollerOptions) {
    this.log = (opts.logger ?? silentLogger).child({ component: 'modal-stats' });
    this.intervalMs = opts.intervalMs ?? 2000;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.backoff = opts.backoff ?? { baseMs: this.intervalMs, maxMs: 30_000 };
    this.random = opts.random ?? Math.random;
    for (const handle of opts.handles) this.add(handle);
  }

  /** Adds a function looked up after start (Modal's API was unreachable then); polled at once if running. */
  add(handle: ModalFunctionHandle): void {
    const service = handle.ref.service;
    if (this.feeds.has(service)) throw new Error(`modal stats: service '${service}' configured twice`);
    const feed: ServiceFeed = { handle, status: { service, consecutiveFailures: 0 }, backoffCeilingMs: 0, cancelTimer: () => {} };
    this.feeds.set(service, feed);
    if (this.running) this.schedule(feed, 0);
  }

  /** Starts polling every service now. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const feed of this.feeds.values()) this.schedule(feed, 0);
  }

  /** Stops every timer and abandons calls in flight. */
  stop(): void {
    this.running = false;
    for (const feed of this.feeds.values()) {
      feed.cancelTimer();
      feed.inFlight?.abort();
    }
  }

  /** Called with every good sample, in arrival order. */
  onSample(listener: SampleListener): Cancel {
    return this.sampleListeners.add(listener);
  }

  /** Called after every attempt, good or bad. */
  onStatus(listener: StatusListener): Cancel {
    return this.statusListeners.add(listener);
  }

  services(): string[] {
    return [...this.feeds.keys()];
  }

  status(service: string): ModalPollerStatus | undefined {
    const feed = this.feeds.get(service);
    if (!feed) return undefined;
    const view: ModalPollerStatus = { ...feed.status, backoffCeilingMs: feed.backoffCeilingMs };
    if (feed.status.last) view.ageMs = sampleAgeMs(feed.status.last, this.opts.clock.nowMs());
    if (feed.nextDelayMs !== undefined) view.nextDelayMs = feed.nextDelayMs;
    return view;
  }

  statuses(): ModalPollerStatus[] {
    return this.services()
      .map((s) => this.status(s))
      .filter((s): s is ModalPollerStatus => s !== undefined);
  }

  private schedule(feed: ServiceFeed, delayMs: number): void {
    feed.cancelTimer();
    if (!this.running) return;
    feed.cancelTimer = this.opts.scheduler.after(delayMs, () => {
      void this.poll(feed).then(() => {
        if (feed.nextDelayMs !== undefined) this.schedule(feed, feed.nextDelayMs);
      });
    });
  }

  private async poll(feed: ServiceFeed): Promise<void> {
    const { clock } = this.opts;
    const startedAt = clock.nowMs();
    const service = feed.handle.ref.service;
    feed.status = { ...feed.status, lastAttemptAtMs: startedAt };
    try {
      const raw = await this.callWithTimeout(feed);
      const now = clock.nowMs();
      const sample = toModalStatsSample(service, raw, now);
      if (feed.status.consecutiveFailures > 0) {
        this.log.info({ service, failures: feed.status.consecutiveFailures }, 'modal stats recovered');
      }
      feed.status = { service, last: sample, consecutiveFailures: 0, lastAttemptAtMs: startedAt };
      feed.backoffCeilingMs = 0;
      feed.nextDelayMs = this.intervalMs;
      this.sampleListeners.emit(sample);
    } catch (err) {
      const failures = feed.status.consecutiveFailures + 1;
      const message = errorMessage(err);
      feed.status = { ...feed.status, consecutiveFailures: failures, lastError: message, lastFailure: modalFailureOf(err) };
      feed.backoffCeilingMs = backoffCeilingMs(failures, this.backoff);
      feed.nextDelayMs = fullJitterDelayMs(failures, this.backoff, this.random);
      // One warning when a feed breaks, then debug lines: a long outage must not flood the log.
      const level = failures === 1 ? 'warn' : 'debug';
      this.log[level](
        { service, failures, failure: feed.status.lastFailure, error: message, retryInMs: Math.round(feed.nextDelayMs) },
        'modal stats poll failed',
      );
    }
    this.statusListeners.emit(feed.status);
  }

  /** The stats call, cut (and aborted) after timeoutMs on the scheduler, even in virtual time. */
  private callWithTimeout(feed: ServiceFeed): Promise<RawFunctionStats> {
    const abort = new AbortController();
    feed.inFlight = abort;
    return withDeadline(this.opts.scheduler, this.timeoutMs, feed.handle.currentStats(abort.signal), () => {
      abort.abort();
      return new ModalTimeoutError(this.timeoutMs, 'stats');
    }).finally(() => {
      if (feed.inFlight === abort) feed.inFlight = undefined;
    });
  }
}
