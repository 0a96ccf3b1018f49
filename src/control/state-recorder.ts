// Keeps the saved operating state current: on every change (a publish, an override, a cordon, a
// controller tick) it captures the whole state from the write side and saves it, at most once per
// minIntervalMs and never two saves at once, so a burst of changes costs one write.
import type { Decision } from '../capacity/types.js';
import type { ServiceConfig } from '../config/config-types.js';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Cancel, Scheduler } from '../core/scheduler.js';
import type { Cordons } from '../model/cordons.js';
import { samePlan, type TrafficPlan } from '../model/traffic-plan.js';
import { emptyOperatingState, encodeOperatingState, type OperatingState, type ServiceOperatingState } from './operating-state.js';
import type { ActiveOverride } from './override-store.js';
import type { PlanSource } from './plan-router.js';
import type { StateStore } from './state-store.js';

/** Where the state is read from at capture time (the write side's own objects). */
export interface StateSources {
  services(): readonly ServiceConfig[];
  /** The plan set for a service (controller or override); undefined while it runs its static plan. */
  assignedPlan(service: string): TrafficPlan | undefined;
  planSource(service: string): PlanSource;
  cordonsOf(service: string): Cordons;
  override(service: string): ActiveOverride | undefined;
  /** The controller's memory of a service and the last time it stood behind it. */
  controllerMemory(service: string): { decision: Decision; asOfMs: number } | undefined;
  modalAddresses(service: string): readonly string[];
}

/** The state now. `previous` carries the since-times of what has not changed. */
export function captureOperatingState(src: StateSources, previous: OperatingState | undefined, nowMs: number): OperatingState {
  const state = emptyOperatingState(nowMs);
  for (const svc of src.services()) {
    const before = previous?.services[svc.name];
    const entry: ServiceOperatingState = { cordons: {} };
    const plan = src.assignedPlan(svc.name);
    if (plan) {
      const source = src.planSource(svc.name);
      const same = before?.plan && before.plan.source === source && samePlan(before.plan.plan, plan);
      entry.plan = { plan, source, sinceMs: same ? before.plan!.sinceMs : nowMs };
    }
    for (const [endpoint, cordon] of src.cordonsOf(svc.name)) {
      const was = before?.cordons[endpoint];
      entry.cordons[endpoint] = { state: cordon, sinceMs: was?.state === cordon ? was.sinceMs : nowMs };
    }
    const o = src.override(svc.name);
    if (o) entry.override = { share: o.share, reason: o.reason, setAtMs: o.setAtMs, expiresAtMs: o.expiresAtMs };
    const memory = src.controllerMemory(svc.name);
    if (memory) entry.controller = { decision: memory.decision, asOfMs: memory.asOfMs };
    const ips = svc.modal && !svc.modal.connectAddress ? [...src.modalAddresses(svc.name)] : [];
    if (ips.length > 0 && svc.modal) {
      const was = before?.modalAddress;
      const same = was !== undefined && was.hostname === svc.modal.hostname && was.ips.join(',') === ips.join(',');
      entry.modalAddress = { hostname: svc.modal.hostname, ips, sinceMs: same ? was.sinceMs : nowMs };
    }
    state.services[svc.name] = entry;
  }
  return state;
}

export interface StateRecorderOptions {
  store: StateStore;
  capture: (previous: OperatingState | undefined, nowMs: number) => OperatingState;
  clock: Clock;
  scheduler: Scheduler;
  logger?: Logger;
  /** Least time between two saves. Default 250 ms: a few writes a second at most. */
  minIntervalMs?: number;
  /** After a failed save, the next waits at least this long. Default 5 s. */
  retryAfterMs?: number;
  /** The state restored at start: since-times carry on from it. */
  initial?: OperatingState;
}

/** What the recorder has done, for admin and tests. */
export interface RecorderStats {
  saves: number;
  failures: number;
  lastSavedAtMs?: number;
  lastError?: string;
}

export class StateRecorder {
  readonly stats: RecorderStats = { saves: 0, failures: 0 };
  private readonly log: Logger;
  private readonly minIntervalMs: number;
  private readonly retryAfterMs: number;
  private last: OperatingState | undefined;
  private dirty = false;
  private closed = false;
  private nextAllowedAtMs = -Infinity;
  private timer: Cancel | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(private readonly opts: StateRecorderOptions) {
    this.log = (opts.logger ?? silentLogger).child({ component: 'state' });
    this.minIntervalMs = opts.minIntervalMs ?? 250;
    this.retryAfterMs = opts.retryAfterMs ?? 5_000;
    this.last = opts.initial;
  }

  /** Something in the operating state changed: save it soon. */
  changed(): void {
    if (this.closed) return;
    this.dirty = true;
    this.kick();
  }

  /** Saves now if anything changed since the last save (waits for a save in flight first). */
  async flush(): Promise<void> {
    // A save that ends may start the next one itself: wait until nothing is pending or in flight.
    for (let rounds = 0; rounds < 3 && (this.inFlight || this.dirty); rounds++) {
      this.timer?.();
      this.timer = undefined;
      await (this.inFlight ?? this.save());
    }
  }

  /** Saves what is pending, then stops. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.timer?.();
  }

  private kick(): void {
    if (this.inFlight || this.timer || !this.dirty) return;
    const wait = this.nextAllowedAtMs - this.opts.clock.nowMs();
    if (wait > 0) {
      this.timer = this.opts.scheduler.after(wait, () => {
        this.timer = undefined;
        this.kick();
      });
      return;
    }
    void this.save();
  }

  private save(): Promise<void> {
    const run = async (): Promise<void> => {
      this.dirty = false;
      const now = this.opts.clock.nowMs();
      this.nextAllowedAtMs = now + this.minIntervalMs;
      try {
        const doc = this.opts.capture(this.last, now);
        await this.opts.store.save(encodeOperatingState(doc));
        this.last = doc;
        if (this.stats.failures > 0 && this.stats.lastError)
          this.log.info({ file: this.opts.store.location }, 'operating state saved again');
        this.stats.saves++;
        this.stats.lastSavedAtMs = now;
        delete this.stats.lastError;
      } catch (err) {
        const first = this.stats.lastError === undefined;
        this.stats.failures++;
        this.stats.lastError = errorMessage(err);
        this.dirty = true;
        this.nextAllowedAtMs = now + Math.max(this.minIntervalMs, this.retryAfterMs);
        // One warning per failure streak: a full disk must not flood the log.
        this.log[first ? 'warn' : 'debug'](
          { file: this.opts.store.location, error: this.stats.lastError },
          'cannot save the operating state; a restart now would not resume from it',
        );
      }
    };
    const p = run().finally(() => {
      this.inFlight = undefined;
      if (!this.closed) this.kick();
    });
    this.inFlight = p;
    return p;
  }
}
