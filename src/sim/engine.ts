// Discrete-event simulator of one service: arrivals → Envoy (drop_overloads, weighted locality
// split applied after xDS delay and update_merge_window) → in-house pool (slots, FIFO pending
// queue with a limit, route timeout) or Modal (containers with max_inputs, backlog, cold starts,
// autoscaler with min_containers/scaledown window, per-second billing). LRS reports and Modal stats
// polls feed a controller that decides every tick. Deterministic for a given seed.
import type { ModalStatsStatus } from '../model/inputs.js';
import { ModalHealth, samePlan, WEIGHT_TOTAL, type TrafficPlan } from '../model/traffic-plan.js';
import type { ControllerInputs } from '../capacity/types.js';
import { EventHeap } from './heap.js';
import { Rng } from './prng.js';
import type { Trace } from './traces.js';

export interface SimParams {
  seed: number;
  slotsPerHost: number;
  serviceMeanMs: number;
  serviceCv: number;
  pendingLimit: number;
  routeTimeoutMs: number;
  modalMaxInputs: number;
  modalTargetInputs: number;
  modalMaxContainers: number;
  modalExtraMs: number;
  coldStartMeanMs: number;
  coldStartCv: number;
  scaledownWindowMs: number;
  modalCapMs: number;
  xdsDelayMs: number;
  mergeWindowMs: number;
  lrsIntervalMs: number;
  pollIntervalMs: number;
  pollDelayMs: number;
  actuatorDelayMs: number;
}

export const DEFAULT_SIM: SimParams = {
  seed: 42,
  slotsPerHost: 8,
  serviceMeanMs: 100,
  serviceCv: 0.5,
  pendingLimit: 80,
  routeTimeoutMs: 15_000,
  modalMaxInputs: 10,
  modalTargetInputs: 8,
  modalMaxContainers: 40,
  modalExtraMs: 30,
  coldStartMeanMs: 8_000,
  coldStartCv: 0.4,
  scaledownWindowMs: 60_000,
  modalCapMs: 150_000,
  xdsDelayMs: 200,
  mergeWindowMs: 1_000,
  lrsIntervalMs: 2_000,
  pollIntervalMs: 2_000,
  pollDelayMs: 300,
  actuatorDelayMs: 1_000,
};

/** What a controller sees each tick, and what it may do. */
export interface TickContext {
  nowMs: number;
  inputs: ControllerInputs;
  trace: Trace;
  params: SimParams;
}

export interface TickAction {
  plan?: TrafficPlan;
  /** Desired Modal min_containers (applied through a rate-limited, delayed actuator). */
  minContainers?: number;
  /** Oracle only: bypass xDS delay/merge and actuator delay. */
  instant?: boolean;
}

export interface SimController {
  name: string;
  tickMs: number;
  tick(ctx: TickContext): TickAction;
}

export interface SimResult {
  trace: string;
  policy: string;
  requests: number;
  shed: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  modalContainerSeconds: number;
  coldHits: number;
  timeToSpillS: number | null;
  pushes: number;
  pushesPerMin: number;
  weightVariation: number;
  modalServed: number;
}

const enum K {
  InDone,
  ModalDone,
  Ready,
  Autoscale,
  Lrs,
  Poll,
  PollResult,
  Tick,
  Apply,
  Actuate,
}

interface Container {
  readyAt: number;
  startedAt: number;
  warm: boolean;
  inFlight: number;
  idleSince: number;
  stopped: boolean;
}

/** Latency histogram with ~2 % buckets from 1 ms to ~200 s. */
class Histogram {
  private readonly counts = new Float64Array(700);
  private n = 0;
  add(ms: number): void {
    const i = Math.min(699, Math.max(0, Math.floor(Math.log(Math.max(1, ms)) / Math.log(1.02))));
    this.counts[i]! += 1;
    this.n++;
  }
  quantile(q: number): number {
    let acc = 0;
    const target = q * this.n;
    for (let i = 0; i < this.counts.length; i++) {
      acc += this.counts[i]!;
      if (acc >= target && acc > 0) return Math.pow(1.02, i + 0.5);
    }
    return 0;
  }
}

export function simulate(trace: Trace, ctl: SimController, p: SimParams = DEFAULT_SIM): SimResult {
  const rng = new Rng(p.seed);
  const svcRng = new Rng(p.seed + 1);
  const coldRng = new Rng(p.seed + 2);
  const heap = new EventHeap();
  const endMs = trace.durationS * 1000;
  const hist = new Histogram();

  // Envoy state: applied plan, and the plan waiting for the merge window.
  let applied: TrafficPlan = { inHouseWeight: WEIGHT_TOTAL, modalWeight: 0, modalHealth: ModalHealth.Healthy, dropPercent: 0 };
  let lastApplyAt = -Infinity;
  let pendingPlan: TrafficPlan | null = null;
  let applyScheduled = false;
  let published: TrafficPlan = applied;
  let pushes = 0;
  let variation = 0;

  // In-house pool.
  let busy = 0;
  const queue: number[] = []; // arrival times
  let qHead = 0;
  let slots = trace.hosts(0) * p.slotsPerHost;

  // Modal.
  const containers: Container[] = [];
  const backlog: number[] = [];
  let bHead = 0;
  let minContainers = 0;
  let pendingMin: number | null = null;
  let lastActuateAt = -Infinity;
  let containerMs = 0;
  const modalDoneArrival: number[] = [];
  const modalDoneContainer: number[] = [];

  // Counters.
  let requests = 0,
    shed = 0,
    errors = 0,
    coldHits = 0,
    modalServed = 0;
  const lrs = { inIssued: 0, inOk: 0, inErr: 0, mIssued: 0, mOk: 0, mErr: 0, dropped: 0 };
  let inputs: ControllerInputs | null = null;
  const stats: ModalStatsStatus = { service: 'svc', consecutiveFailures: 0 };
  let timeToSpill: number | null = null;

  const inDone: number[] = []; // arrival time of each in-house request, by ref
  const record = (arrival: number, now: number): void => hist.add(now - arrival);

  const startInHouse = (arrival: number, now: number): void => {
    busy++;
    const ref = inDone.length;
    inDone.push(arrival);
    heap.push(now + svcRng.lognormal(p.serviceMeanMs, p.serviceCv), K.InDone, ref);
  };
  const startModal = (c: number, arrival: number, now: number): void => {
    const ct = containers[c]!;
    ct.inFlight++;
    const ref = modalDoneArrival.length;
    modalDoneArrival.push(arrival);
    modalDoneContainer.push(c);
    heap.push(now + p.modalExtraMs + svcRng.lognormal(p.serviceMeanMs, p.serviceCv), K.ModalDone, ref);
  };
  // Modal packs inputs: the busiest container still under target_inputs, else any under
  // max_inputs. Packing lets surplus containers go idle and reach the scaledown window.
  const freeContainer = (): number => {
    let best = -1;
    let burst = -1;
    for (let i = 0; i < containers.length; i++) {
      const c = containers[i]!;
      if (!c.warm || c.stopped) continue;
      if (c.inFlight < p.modalTargetInputs) {
        if (best < 0 || c.inFlight > containers[best]!.inFlight) best = i;
      } else if (c.inFlight < p.modalMaxInputs && burst < 0) burst = i;
    }
    return best >= 0 ? best : burst;
  };
  const drainBacklog = (now: number): void => {
    while (bHead < backlog.length) {
      const arrival = backlog[bHead]!;
      if (now - arrival > p.modalCapMs) {
        bHead++;
        errors++;
        lrs.mErr++;
        continue;
      }
      const c = freeContainer();
      if (c < 0) return;
      bHead++;
      startModal(c, arrival, now);
    }
  };
  const toModal = (now: number): void => {
    lrs.mIssued++;
    modalServed++;
    const c = bHead >= backlog.length ? freeContainer() : -1;
    if (c >= 0) startModal(c, now, now);
    else {
      coldHits++;
      backlog.push(now);
    }
  };
  const toInHouse = (now: number): void => {
    lrs.inIssued++;
    if (busy < slots) startInHouse(now, now);
    else if (queue.length - qHead < p.pendingLimit) queue.push(now);
    else {
      // Circuit breaker overflow: a fast 503, counted in LRS drops like drop_overloads.
      shed++;
      lrs.dropped++;
      lrs.inIssued--;
    }
  };
  const publish = (plan: TrafficPlan, now: number, instant: boolean): void => {
    if (samePlan(published, plan)) return;
    pushes++;
    variation += Math.abs(plan.modalWeight - published.modalWeight) / WEIGHT_TOTAL;
    published = plan;
    if (instant) {
      applied = plan;
      return;
    }
    pendingPlan = plan;
    if (!applyScheduled) {
      applyScheduled = true;
      heap.push(Math.max(now + p.xdsDelayMs, lastApplyAt + p.mergeWindowMs), K.Apply);
    }
  };
  const modalShareApplied = (): number =>
    applied.modalWeight > 0 && applied.modalHealth === ModalHealth.Healthy
      ? applied.modalWeight / (applied.modalWeight + applied.inHouseWeight)
      : 0;

  heap.push(0, K.Autoscale);
  heap.push(p.lrsIntervalMs, K.Lrs);
  heap.push(0, K.Poll);
  heap.push(p.lrsIntervalMs + 1, K.Tick);

  let nextArrival = rng.exp(1000 / Math.max(1e-6, trace.rate(0)));
  let lastLrsAt = 0;
  for (;;) {
    const tEv = heap.peekT();
    const now = Math.min(tEv, nextArrival);
    if (now >= endMs) break;
    if (nextArrival <= tEv) {
      // Arrival: non-homogeneous Poisson, rate read at the arrival instant.
      requests++;
      const u = rng.uniform();
      if (u * 100 < applied.dropPercent) {
        shed++;
        lrs.dropped++;
      } else {
        const share = modalShareApplied();
        const inHouseDown = slots === 0;
        if ((share > 0 && rng.uniform() < share) || (inHouseDown && applied.modalWeight > 0)) toModal(now);
        else toInHouse(now);
      }
      const rate = trace.rate(now / 1000);
      nextArrival = now + rng.exp(1000 / Math.max(1e-6, rate));
      continue;
    }
    const ev = heap.pop()!;
    switch (ev.kind) {
      case K.InDone: {
        busy--;
        const arrival = inDone[ev.ref]!;
        lrs.inOk++;
        record(arrival, now);
        while (busy < slots && qHead < queue.length) {
          const a = queue[qHead++]!;
          if (now - a > p.routeTimeoutMs) {
            errors++;
            lrs.inErr++;
            continue;
          }
          startInHouse(a, now);
        }
        if (qHead > 4096 && qHead * 2 > queue.length) {
          queue.splice(0, qHead);
          qHead = 0;
        }
        break;
      }
      case K.ModalDone: {
        const c = containers[modalDoneContainer[ev.ref]!]!;
        c.inFlight--;
        if (c.inFlight === 0) c.idleSince = now;
        lrs.mOk++;
        record(modalDoneArrival[ev.ref]!, now);
        drainBacklog(now);
        break;
      }
      case K.Ready: {
        const c = containers[ev.ref]!;
        if (!c.stopped) {
          c.warm = true;
          c.idleSince = now;
          drainBacklog(now);
        }
        break;
      }
      case K.Autoscale: {
        // Modal's autoscaler: enough containers for running + backlog at target_inputs, never
        // below min_containers; idle containers go after the scaledown window.
        let running = 0;
        let live = 0;
        for (const c of containers) {
          if (c.stopped) continue;
          live++;
          running += c.inFlight;
        }
        const waiting = backlog.length - bHead;
        const want = Math.min(p.modalMaxContainers, Math.max(minContainers, Math.ceil((running + waiting) / p.modalTargetInputs)));
        for (let i = live; i < want; i++) {
          const cold = Math.max(2_000, coldRng.lognormal(p.coldStartMeanMs, p.coldStartCv));
          containers.push({ readyAt: now + cold, startedAt: now, warm: false, inFlight: 0, idleSince: now, stopped: false });
          heap.push(now + cold, K.Ready, containers.length - 1);
        }
        let excess = live - want;
        for (const c of containers) {
          if (excess <= 0) break;
          if (!c.stopped && c.warm && c.inFlight === 0 && now - c.idleSince >= p.scaledownWindowMs) {
            c.stopped = true;
            containerMs += now - c.startedAt;
            excess--;
          }
        }
        if (bHead > 4096 && bHead * 2 > backlog.length) {
          backlog.splice(0, bHead);
          bHead = 0;
        }
        heap.push(now + 1000, K.Autoscale);
        break;
      }
      case K.Lrs: {
        const dt = (now - lastLrsAt) / 1000;
        lastLrsAt = now;
        let mFlight = backlog.length - bHead;
        for (const c of containers) mFlight += c.stopped ? 0 : c.inFlight;
        const base = { service: 'svc', observedAtMs: now };
        const h = trace.hosts(now / 1000);
        slots = h * p.slotsPerHost;
        inputs = {
          service: 'svc',
          inHouse: {
            ...base,
            locality: 'in-house',
            inProgress: busy + queue.length - qHead,
            issuedRps: lrs.inIssued / dt,
            successRps: lrs.inOk / dt,
            errorRps: lrs.inErr / dt,
          },
          modal: {
            ...base,
            locality: 'modal',
            inProgress: mFlight,
            issuedRps: lrs.mIssued / dt,
            successRps: lrs.mOk / dt,
            errorRps: lrs.mErr / dt,
          },
          drops: { ...base, droppedRps: lrs.dropped / dt, byCategory: {} },
          modalStats: stats,
          inHouseCapacity: slots,
          modalMaxInputs: p.modalMaxInputs,
          modalTargetInputs: p.modalTargetInputs,
          modalMaxContainers: p.modalMaxContainers,
        };
        lrs.inIssued = lrs.inOk = lrs.inErr = lrs.mIssued = lrs.mOk = lrs.mErr = lrs.dropped = 0;
        heap.push(now + p.lrsIntervalMs, K.Lrs);
        break;
      }
      case K.Poll:
        heap.push(now + p.pollDelayMs, K.PollResult);
        heap.push(now + p.pollIntervalMs, K.Poll);
        break;
      case K.PollResult: {
        stats.lastAttemptAtMs = now;
        if (trace.statsDown?.(now / 1000)) {
          stats.consecutiveFailures++;
          stats.lastError = 'UNAVAILABLE';
          break;
        }
        // The sample describes Modal as it was when the request left (pollDelay ago ≈ now).
        let runners = 0,
          running = 0,
          headroom = 0;
        for (const c of containers) {
          if (c.stopped) continue;
          runners++;
          running += c.inFlight;
          if (c.warm) headroom += p.modalMaxInputs - c.inFlight;
        }
        stats.consecutiveFailures = 0;
        stats.last = {
          service: 'svc',
          runners,
          backlog: backlog.length - bHead,
          runningInputs: running,
          inputHeadroom: headroom,
          observedAtMs: now,
        };
        break;
      }
      case K.Tick: {
        if (inputs) {
          const slotsNow = trace.hosts(now / 1000) * p.slotsPerHost;
          const act = ctl.tick({
            nowMs: now,
            inputs: { ...inputs, inHouseCapacity: slotsNow, modalStats: { ...stats } },
            trace,
            params: p,
          });
          if (act.plan) publish(act.plan, now, act.instant === true);
          if (act.minContainers !== undefined && act.minContainers !== minContainers) {
            if (act.instant) minContainers = act.minContainers;
            else if (pendingMin !== act.minContainers && now - lastActuateAt >= 10_000) {
              pendingMin = act.minContainers;
              lastActuateAt = now;
              heap.push(now + p.actuatorDelayMs, K.Actuate);
            }
          }
        }
        heap.push(now + ctl.tickMs, K.Tick);
        break;
      }
      case K.Apply:
        applyScheduled = false;
        if (pendingPlan) {
          applied = pendingPlan;
          pendingPlan = null;
          lastApplyAt = now;
        }
        break;
      case K.Actuate:
        if (pendingMin !== null) minContainers = pendingMin;
        pendingMin = null;
        break;
    }
    // Time to spill: first instant the applied Modal share reaches 90 % of the share needed.
    if (trace.stepAtS !== undefined && timeToSpill === null && now >= trace.stepAtS * 1000) {
      const lam = trace.rate(now / 1000);
      const need = Math.max(0, lam - (0.8 * (trace.hosts(now / 1000) * p.slotsPerHost * 1000)) / p.serviceMeanMs) / lam;
      if (need > 0 && modalShareApplied() >= 0.9 * need) timeToSpill = (now - trace.stepAtS * 1000) / 1000;
    }
  }
  for (const c of containers) if (!c.stopped) containerMs += endMs - c.startedAt;
  return {
    trace: trace.name,
    policy: ctl.name,
    requests,
    shed,
    errors,
    p50Ms: hist.quantile(0.5),
    p99Ms: hist.quantile(0.99),
    modalContainerSeconds: containerMs / 1000,
    coldHits,
    timeToSpillS: timeToSpill,
    pushes,
    pushesPerMin: pushes / (trace.durationS / 60),
    weightVariation: variation,
    modalServed,
  };
}
