// Pre-warming Modal: the capacity controller states the autoscaler settings it wants per service and
// this actuator gets them to Modal at a bounded rate, reads back what Modal reports, and puts them back
// when they drift (a deploy resets the autoscaler to the app's static configuration).
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { Listeners } from '../core/listeners.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { ModalFailure } from '../model/inputs.js';
import { every, withDeadline, type Cancel, type Scheduler } from '../core/scheduler.js';
import { backoffCeilingMs } from './backoff.js';
import { ModalTimeoutError, modalFailureOf } from './errors.js';
import type { AutoscalerSettings, ModalFunctionHandle } from './types.js';

export interface AutoscalerActuatorOptions {
  clock: Clock;
  scheduler: Scheduler;
  logger?: Logger;
  /** At most one update per service per this interval; later intents are coalesced. Default 10 s. */
  minIntervalMs?: number;
  /**
   * A raise of min_containers (pre-warm for a step) waits only this long after the last update: a
   * flash crowd must not wait out the full interval. Default min(2 s, minIntervalMs).
   */
  raiseIntervalMs?: number;
  /** How often Modal is read back and a drifted intent re-applied (a deploy resets it). Default 30 s. */
  reconcileIntervalMs?: number;
  /**
   * A call still pending after this is abandoned and counted as failed (timeout), so a hung connection
   * cannot hold the service's one update slot. Default 5 s (modal_api.timeout_ms).
   */
  callTimeoutMs?: number;
}

export type ActuationOutcome =
  /** Sent to Modal; `current` is what Modal reported back. */
  | 'applied'
  /** Modal already reports the intended settings: nothing sent. */
  | 'unchanged'
  /** Too soon after the last update, or one is in flight: the latest intent goes out at `deferredUntilMs` (or when it returns). */
  | 'deferred'
  /** The gate held it back (replicas: this replica does not lead the group, or could not record the intent). */
  | 'held'
  | 'failed';

/**
 * Who may actuate (replicas: only the leader, and only once etcd has recorded what it is about to
 * send under its fencing token). Without a gate every update goes out.
 */
export interface ActuationGate {
  /** Asked right before an update goes to Modal; false holds it back. */
  permit(service: string, settings: AutoscalerSettings): Promise<boolean>;
  /** Told what Modal reported after an update went out. */
  applied(service: string, intended: AutoscalerSettings, current: AutoscalerSettings): void;
}

/** The two calls the actuator makes to Modal's autoscaler API. */
export const AutoscalerCall = { Update: 'update', ReadBack: 'read_back' } as const;
export type AutoscalerCall = (typeof AutoscalerCall)[keyof typeof AutoscalerCall];

/** One call that reached Modal's autoscaler API (metrics count them), and what failed if it did. */
export interface AutoscalerCallEvent {
  service: string;
  call: AutoscalerCall;
  /** Absent: Modal answered. */
  failure?: ModalFailure;
}

export interface ActuationResult {
  service: string;
  outcome: ActuationOutcome;
  intended: AutoscalerSettings;
  current?: AutoscalerSettings;
  deferredUntilMs?: number;
  error?: string;
  /** What kind of failure `error` was, when a call to Modal failed. */
  failure?: ModalFailure;
}

interface ServiceActuation {
  service: string;
  /** Absent until the function is looked up: intents wait for it. */
  handle?: ModalFunctionHandle;
  intended?: AutoscalerSettings;
  current?: AutoscalerSettings;
  /** What Modal reported after our last successful update: a read-back that differs from it is a deploy's doing. */
  lastApplied?: AutoscalerSettings;
  lastSentAtMs?: number;
  /** An update is on the wire: later intents wait for it, so a late reply never overwrites a newer one. */
  inFlight: boolean;
  cancelDeferred?: Cancel;
  /** The last update's outcome (applied or failed). */
  lastResult?: ActuationResult;
  /** Updates failed in a row; each one doubles the wait before the next (retryAtMs). */
  failures: number;
  /** After a failure, no update goes out before this. */
  retryAtMs?: number;
}

export class ModalAutoscalerActuator {
  private readonly services = new Map<string, ServiceActuation>();
  private readonly log: Logger;
  private readonly minIntervalMs: number;
  private readonly raiseIntervalMs: number;
  private stopReconciling: Cancel = () => {};
  private gate: ActuationGate | undefined;
  private readonly calls: Listeners<[AutoscalerCallEvent]>;
  private closed = false;

  constructor(
    handles: readonly ModalFunctionHandle[],
    private readonly opts: AutoscalerActuatorOptions,
  ) {
    this.log = (opts.logger ?? silentLogger).child({ component: 'modal-autoscaler' });
    this.calls = new Listeners<[AutoscalerCallEvent]>((err) =>
      this.log.error({ error: errorMessage(err) }, 'autoscaler call listener threw'),
    );
    this.minIntervalMs = opts.minIntervalMs ?? 10_000;
    this.raiseIntervalMs = Math.min(opts.raiseIntervalMs ?? 2_000, this.minIntervalMs);
    for (const handle of handles) this.attach(handle);
  }

  /** Declares a service whose function is not looked up yet: its intents are kept and sent once it is attached. */
  declare(service: string): void {
    if (!this.services.has(service)) this.services.set(service, { service, inFlight: false, failures: 0 });
  }

  /** Hands over a looked-up function; an intent declared before goes out now. */
  attach(handle: ModalFunctionHandle): void {
    const service = handle.ref.service;
    const s = this.services.get(service);
    if (!s) {
      this.services.set(service, { service, handle, inFlight: false, failures: 0 });
      return;
    }
    s.handle = handle;
    if (s.intended) void this.send(s, false);
  }

  /** Reads Modal back on a timer and re-applies any intent a deploy has reset. */
  startReconciling(): void {
    this.stopReconciling();
    this.stopReconciling = every(this.opts.scheduler, this.opts.reconcileIntervalMs ?? 30_000, async () => {
      for (const [service, s] of this.services) if (s.intended && s.handle) await this.reconcile(service);
    });
  }

  /**
   * Declares the settings the controller wants for a service and sends them unless Modal already has them
   * or the rate limit defers them. Only the fields given are managed; the rest stay as Modal has them.
   */
  async apply(service: string, intended: AutoscalerSettings): Promise<ActuationResult> {
    const s = this.get(service);
    s.intended = normalise(intended);
    return this.send(s, false);
  }

  /**
   * Reads Modal's current settings (an update with no fields changes nothing and returns them) and
   * re-applies the intended settings if they differ. Call it periodically or after a deploy.
   */
  async reconcile(service: string): Promise<ActuationResult> {
    const s = this.get(service);
    const read = await this.readBack(service);
    if (read.outcome === 'failed' || !s.intended) return read;
    if (matches(s.intended, s.current)) return { service, outcome: 'unchanged', intended: s.intended, ...cur(s) };
    // Only a change behind our back is drift; an intent still waiting for its slot is not.
    if (s.lastApplied && !matches(s.lastApplied, s.current)) {
      this.log.warn({ service, applied: s.lastApplied, current: s.current }, 'Modal autoscaler settings drifted (a deploy?); re-applying');
    }
    return this.send(s, true);
  }

  /** Asks Modal for the current settings without changing them. */
  async readBack(service: string): Promise<ActuationResult> {
    const s = this.get(service);
    if (!s.handle) return { service, outcome: 'failed', intended: s.intended ?? {}, error: NOT_LOOKED_UP };
    try {
      s.current = await this.timed(s.handle.updateAutoscaler({}));
      this.calls.emit({ service, call: AutoscalerCall.ReadBack });
      return { service, outcome: 'unchanged', intended: s.intended ?? {}, current: s.current };
    } catch (err) {
      const failure = modalFailureOf(err);
      this.calls.emit({ service, call: AutoscalerCall.ReadBack, failure });
      return { service, outcome: 'failed', intended: s.intended ?? {}, error: errorMessage(err), failure };
    }
  }

  /** Called after every call that reached Modal's autoscaler API (updates and read-backs), answered or failed. */
  onCall(fn: (event: AutoscalerCallEvent) => void): Cancel {
    return this.calls.add(fn);
  }

  /** Puts every update behind a gate (replicas); see ActuationGate. */
  setGate(gate: ActuationGate): void {
    this.gate = gate;
  }

  /**
   * Takes over what another replica last sent and Modal reported, when this one starts leading: an
   * intent Modal already has is not sent again, and the rate limit carries on from that update.
   */
  adopt(service: string, record: { intended: AutoscalerSettings; current?: AutoscalerSettings; sentAtMs: number }): void {
    const s = this.get(service);
    s.intended = normalise(record.intended);
    if (record.current) {
      s.current = record.current;
      s.lastApplied = record.current;
    }
    s.lastSentAtMs = record.sentAtMs;
  }

  /** Stops acting (replicas: another replica leads): no read-backs, no deferred updates, no intents kept. */
  release(): void {
    this.stopReconciling();
    for (const s of this.services.values()) {
      s.cancelDeferred?.();
      s.cancelDeferred = undefined;
      delete s.intended;
      delete s.current;
      delete s.lastApplied;
      delete s.lastSentAtMs;
      delete s.retryAtMs;
      s.failures = 0;
    }
  }

  intended(service: string): AutoscalerSettings | undefined {
    return this.get(service).intended;
  }

  /** The settings Modal last reported for the service. */
  current(service: string): AutoscalerSettings | undefined {
    return this.get(service).current;
  }

  lastResult(service: string): ActuationResult | undefined {
    return this.get(service).lastResult;
  }

  /** Stops for good: no update or retry goes out after this, even from a call still on the wire. */
  close(): void {
    this.closed = true;
    this.stopReconciling();
    for (const s of this.services.values()) s.cancelDeferred?.();
    this.calls.clear();
  }

  private async send(s: ServiceActuation, force: boolean): Promise<ActuationResult> {
    const service = s.service;
    const intended = s.intended ?? {};
    if (this.closed) return { service, outcome: 'deferred', intended, error: 'the autoscaler actuator is closed', ...cur(s) };
    if (!force && matches(intended, s.current)) return { service, outcome: 'unchanged', intended, ...cur(s) };
    const now = this.opts.clock.nowMs();
    // attach() sends it once the function is known.
    const handle = s.handle;
    if (!handle) return { service, outcome: 'deferred', intended, error: NOT_LOOKED_UP };
    if (s.inFlight) return { service, outcome: 'deferred', intended, deferredUntilMs: now, ...cur(s) };
    const raise = (intended.minContainers ?? 0) > (s.current?.minContainers ?? 0);
    const spacing = raise ? this.raiseIntervalMs : this.minIntervalMs;
    const allowedAt = Math.max(s.lastSentAtMs === undefined ? now : s.lastSentAtMs + spacing, s.retryAtMs ?? now);
    if (allowedAt > now) {
      // Coalesce: one timer per service, and it sends whatever is intended when it fires.
      s.cancelDeferred ??= this.opts.scheduler.after(allowedAt - now, () => {
        s.cancelDeferred = undefined;
        void this.send(s, false);
      });
      return { service, outcome: 'deferred', intended, deferredUntilMs: allowedAt, ...cur(s) };
    }
    s.lastSentAtMs = now;
    s.inFlight = true;
    let held = false;
    try {
      if (this.gate && !(await this.gate.permit(service, intended).catch(() => false))) {
        held = true;
        this.log.info({ service, intended }, 'modal autoscaler update held back: this replica does not lead the group');
        return this.record(s, { service, outcome: 'held', intended, ...cur(s) });
      }
      s.current = await this.timed(handle.updateAutoscaler(intended));
      s.lastApplied = s.current;
      s.failures = 0;
      delete s.retryAtMs;
      this.log.info({ service, intended, current: s.current }, 'modal autoscaler updated');
      this.gate?.applied(service, intended, s.current);
      this.calls.emit({ service, call: AutoscalerCall.Update });
      return this.record(s, { service, outcome: 'applied', intended, current: s.current });
    } catch (err) {
      const error = errorMessage(err);
      const failure = modalFailureOf(err);
      // Retried, but later each time: an outage or a rate limit is not helped by asking at the usual pace
      // (a rate limit least of all: the wait starts twice as long).
      s.failures++;
      const waitMs = backoffCeilingMs(s.failures + (failure === ModalFailure.RateLimited ? 1 : 0), {
        baseMs: Math.max(RETRY_BASE_MS, spacing),
        maxMs: RETRY_MAX_MS,
      });
      s.retryAtMs = this.opts.clock.nowMs() + waitMs;
      this.log.warn({ service, failure, error, failures: s.failures, retryInMs: waitMs }, 'modal autoscaler update failed');
      this.calls.emit({ service, call: AutoscalerCall.Update, failure });
      return this.record(s, { service, outcome: 'failed', intended, error, failure, ...cur(s) });
    } finally {
      s.inFlight = false;
      // What is intended and not in place goes out in its own slot: an intent that changed while this
      // update was on the wire, or the same one again after a failure's wait. Not after a hold (the
      // leader sends it), nor once closed.
      if (!held && !this.closed && s.intended && !matches(s.intended, s.current)) void this.send(s, false);
    }
  }

  /**
   * The call, or a ModalTimeoutError once callTimeoutMs has passed (on the injected scheduler). The SDK
   * call cannot be cancelled: if it lands later, Modal may hold an older intent until the next
   * read-back finds the drift and re-applies (reconcileIntervalMs).
   */
  private timed<T>(call: Promise<T>): Promise<T> {
    const ms = this.opts.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    return withDeadline(this.opts.scheduler, ms, call, () => new ModalTimeoutError(ms, 'autoscaler'));
  }

  private record(s: ServiceActuation, r: ActuationResult): ActuationResult {
    s.lastResult = r;
    return r;
  }

  private get(service: string): ServiceActuation {
    const s = this.services.get(service);
    if (!s) throw new Error(`modal autoscaler: unknown service '${service}'`);
    return s;
  }
}

/** A failed update's first retry waits at least this (more when the usual spacing is longer), then twice as long each time. */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 300_000;
const DEFAULT_CALL_TIMEOUT_MS = 5_000;

const NOT_LOOKED_UP = 'the Modal function is not looked up yet; the intent is sent once it is';

function cur(s: ServiceActuation): { current?: AutoscalerSettings } {
  return s.current ? { current: s.current } : {};
}

/** Modal keeps the scaledown window in whole seconds: compare what it can actually hold. */
function normalise(s: AutoscalerSettings): AutoscalerSettings {
  const out: AutoscalerSettings = { ...s };
  if (out.scaledownWindowMs !== undefined) out.scaledownWindowMs = Math.trunc(out.scaledownWindowMs / 1000) * 1000;
  return out;
}

/** True when every field the controller manages has the intended value in Modal's current settings. */
export function matches(intended: AutoscalerSettings, current: AutoscalerSettings | undefined): boolean {
  if (!current) return false;
  return (Object.keys(intended) as (keyof AutoscalerSettings)[]).every((k) => intended[k] === undefined || intended[k] === current[k]);
}
