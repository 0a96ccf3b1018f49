// The leader's decisions, into etcd. A new plan goes out at once, with the decision that made it
// (plans/<service>) and the controller's memory (controller/<service>) in the same fenced
// transaction; so does a decision asking for a second look at demand (the followers read it from the
// memory and ask their own Envoys); otherwise only the memory is written, at most once per controller tick, so
// a new leader resumes from memory at most a tick old. One transaction per service at a time; a write
// etcd could not take is retried with the newest decision (every write is a whole value: repeating
// one is harmless).
import type { Namespace } from 'etcd3';
import type { Decision } from '../capacity/types.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Cancel, Scheduler } from '../core/scheduler.js';
import { samePlan, type TrafficPlan } from '../model/traffic-plan.js';
import { fencedCommit, type Fence, type FencedOp } from './fence.js';
import { keys } from './keys.js';
import { encodeRecord, type ControllerRecord, type PlanRecord } from './records.js';

export interface DecisionWriterOptions {
  group: Namespace;
  fence: Fence;
  replica: string;
  /** Memory is written at most this often between plan changes (the controller's tick). */
  memoryIntervalMs: number;
  /** The plan etcd holds for a service when this leader took over. */
  storedPlan: (service: string) => TrafficPlan | undefined;
  /** etcd refused a write: this replica no longer leads. */
  onFencedOut: (why: string) => void;
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
}

const RETRY_MS = 250;

interface ServiceWrites {
  latest?: Decision;
  written?: TrafficPlan;
  lastWriteAtMs: number;
  inFlight: boolean;
  timer?: Cancel;
}

export class DecisionWriter {
  private readonly services = new Map<string, ServiceWrites>();
  private closed = false;
  private readonly log: Logger;

  constructor(private readonly opts: DecisionWriterOptions) {
    this.log = opts.logger.child({ component: 'ha-leader' });
  }

  /**
   * The controller decided (every tick): the plan goes out now if it changed, and so does a decision
   * asking for a second look at demand (every replica asks its own Envoys when it reads it); the
   * memory otherwise within the interval.
   */
  offer(service: string, decision: Decision): void {
    if (this.closed) return;
    const st = this.state(service);
    st.latest = keepAsk(st.latest, decision);
    if (st.inFlight) return;
    if (urgent(st, st.latest)) {
      st.timer?.();
      st.timer = undefined;
      void this.flush(service);
      return;
    }
    this.schedule(service, st, st.lastWriteAtMs + this.opts.memoryIntervalMs - this.opts.clock.nowMs());
  }

  close(): void {
    this.closed = true;
    for (const st of this.services.values()) st.timer?.();
  }

  private state(service: string): ServiceWrites {
    let st = this.services.get(service);
    if (!st) {
      const stored = this.opts.storedPlan(service);
      st = { lastWriteAtMs: -Infinity, inFlight: false, ...(stored ? { written: stored } : {}) };
      this.services.set(service, st);
    }
    return st;
  }

  private schedule(service: string, st: ServiceWrites, waitMs: number): void {
    if (st.timer || this.closed) return;
    st.timer = this.opts.scheduler.after(Math.max(0, waitMs), () => {
      st.timer = undefined;
      void this.flush(service);
    });
  }

  private async flush(service: string): Promise<void> {
    const st = this.state(service);
    const d = st.latest;
    if (this.closed || st.inFlight || !d) return;
    st.latest = undefined;
    st.inFlight = true;
    const { fence, replica } = this.opts;
    const writer = { leader: replica, epoch: fence.token.toString() };
    const planChanged = !samePlan(st.written, d.plan);
    const ops: FencedOp[] = [];
    if (planChanged) {
      const plan: PlanRecord = { ...writer, plan: d.plan, sinceMs: d.atMs, decision: d };
      ops.push({ put: keys.plan(service), value: encodeRecord(plan) });
    }
    const memory: ControllerRecord = { ...writer, decision: d, asOfMs: d.atMs };
    ops.push({ put: keys.controller(service), value: encodeRecord(memory) });
    const outcome = await fencedCommit(this.opts.group, fence, ops);
    st.inFlight = false;
    if (outcome.kind === 'fenced-out') {
      this.closed = true;
      this.opts.onFencedOut(`etcd refused the decision for ${service}: another replica leads now`);
      return;
    }
    if (outcome.kind === 'unavailable') {
      this.log.debug({ service, error: outcome.error }, 'cannot write the decision to etcd; retrying');
      st.latest = st.latest ? keepAsk(d, st.latest) : d;
      this.schedule(service, st, RETRY_MS);
      return;
    }
    if (planChanged) st.written = d.plan;
    st.lastWriteAtMs = this.opts.clock.nowMs();
    // A decision offered while this one was on the wire.
    const next = this.state(service).latest as Decision | undefined;
    if (next) {
      if (urgent(st, next)) void this.flush(service);
      else this.schedule(service, st, this.opts.memoryIntervalMs);
    }
  }
}

/**
 * `newer`, still carrying the ask for a second look `older` made if that was not written yet and is
 * within its wait (a later decision that does not ask must not lose it; a stale one is dropped).
 */
function keepAsk(older: Decision | undefined, newer: Decision): Decision {
  const ask = older?.loadFollowUp;
  if (!older || !ask || newer.loadFollowUp || newer.atMs - older.atMs >= ask.afterMs) return newer;
  return { ...newer, loadFollowUp: ask };
}

/** Written at once rather than within the memory interval: a new plan, or a second look at demand. */
function urgent(st: ServiceWrites, d: Decision): boolean {
  return !samePlan(st.written, d.plan) || d.loadFollowUp !== undefined;
}
