// Discrete-event simulator of one service: arrivals → Envoy (the plan built into a real
// ClusterLoadAssignment by Spillway's own builder and applied by the Envoy model of envoy-model.ts —
// drop first, then localities by effective weight — after xDS delay and update_merge_window; lost
// in-house hosts found UNHEALTHY by health checks) → in-house pool (slots, FIFO pending queue with a
// limit whose overflow is the backends' own 503, route timeout) or Modal (containers with max_inputs,
// backlog, cold starts, autoscaler with min_containers/scaledown window, per-second billing). LRS
// reports (on a timer of their own, at a seeded phase) and Modal stats polls feed a controller that
// decides every tick; it sees the in-house fleet as of the latest report. Deterministic for a seed.
import { parseConfigObject } from '../config/parse-config.js';
import type { ServiceConfig } from '../config/config-types.js';
import type { ModalStatsStatus } from '../model/inputs.js';
import { ModalHealth, samePlan, WEIGHT_TOTAL, type TrafficPlan } from '../model/traffic-plan.js';
import { buildLoadAssignment } from '../resources/endpoints.js';
import { modelOfAssignment, trafficShares, type HostHealth } from './envoy-model.js';
import type { ControllerInputs } from '../capacity/types.js';
import { mayAskEarlyReport } from '../lrs/early-report.js';
import { EventHeap } from './heap.js';
import { Rng } from './prng.js';
import { toModalStatsSample } from '../modal/stats-mapping.js';

/** A demand trace the simulator runs (src/sim/traces.ts holds the named ones). */
export interface Trace {
  name: string;
  description: string;
  durationS: number;
  /** Offered demand at time t (seconds). Deterministic so the oracle can look ahead. */
  rate: (t: number) => number;
  /** In-house hosts healthy at time t. */
  hosts: (t: number) => number;
  /** Modal stats API failing at time t. */
  statsDown?: (t: number) => boolean;
  /** Start of a step that needs spill, for "time to spill". */
  stepAtS?: number;
  /** The service's capacity scaler at time t (a planned drain); 1 when absent. */
  scaler?: (t: number) => number;
  /**
   * Times (s) at which demand jumps up or capacity down. Spillway learns of demand only from LRS, so
   * for one LRS interval after such a jump no LRS-driven control plane can have shed for it: in-house
   * 503s on requests arriving then are counted apart from the overload the policy could have prevented.
   */
  changesS?: readonly number[];
  /** Simulation parameters this trace needs different from the defaults (e.g. a long cold start). */
  params?: Partial<SimParams>;
}

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
  /** How long Envoy's active health checks take to find a lost in-house host UNHEALTHY. */
  healthCheckDetectMs: number;
  /**
   * Spillway's own probe of in-house hosts (`in_house.probe`), its interval; 0 = none. A host passing
   * once counts back, failing `probeUnhealthyThreshold` times in a row counts out — ahead of the next
   * load report (Envoy, with no health check of its own in these cells, uses a host that answers at once).
   */
  probeIntervalMs: number;
  probeUnhealthyThreshold: number;
  /** The in-house utilization the operator targets: Modal-bound traffic under it is wasted spill. */
  targetUtilization: number;
  /** Inputs a Modal function queues before refusing more (Modal: 2,000 synchronous calls). */
  modalMaxBacklog: number;
  /** Spacing of autoscaler updates: raises (pre-warm) and lowers, as the actuator enforces them. */
  actuatorRaiseIntervalMs: number;
  actuatorMinIntervalMs: number;
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
  // Envoy 1.40 applies EDS weight and drop updates without merging (batch-aware updates; measured).
  mergeWindowMs: 0,
  lrsIntervalMs: 1_000,
  pollIntervalMs: 2_000,
  pollDelayMs: 300,
  actuatorDelayMs: 1_000,
  healthCheckDetectMs: 3_000,
  probeIntervalMs: 0,
  probeUnhealthyThreshold: 2,
  targetUtilization: 0.8,
  modalMaxBacklog: 2_000,
  actuatorRaiseIntervalMs: 2_000,
  actuatorMinIntervalMs: 10_000,
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
  /** Ask for the next load report this soon (ms), as Spillway's LRS server does on a decision's follow-up. */
  loadFollowUpMs?: number;
}

export interface SimController {
  name: string;
  tickMs: number;
  /** Also decides 20 ms after each new input (an LRS report, a Modal sample), as Spillway's controller does. */
  nudge?: boolean;
  tick(ctx: TickContext): TickAction;
}

export interface SimResult {
  trace: string;
  policy: string;
  requests: number;
  /** Answered by a backend (in-house or Modal). */
  served: number;
  /** Deliberately shed by Envoy (drop_overloads): fast 503s. */
  shed: number;
  /** Everything else that failed: in-house queue-full 503s, timeouts, Modal's cap. */
  errors: number;
  /** Requests Envoy sent in-house, and how many of them the backends refused (queue full). */
  inHouseRequests: number;
  inHouseOverflow: number;
  /** Of inHouseOverflow, the requests that arrived within one LRS interval of a jump (Trace.changesS). */
  inHouseOverflowUnforeseeable: number;
  /** Modal-bound requests that arrived while offered demand was under the in-house target. */
  wastedSpill: number;
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
  /** A decision soon after a new input; does not reschedule the periodic tick. */
  Nudge,
  Probe,
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
  const service = simService(trace.hosts(0), p);
  let applied: TrafficPlan = { inHouseWeight: WEIGHT_TOTAL, modalWeight: 0, modalHealth: ModalHealth.Healthy, dropPercent: 0 };
  // What Envoy does with the applied plan: drop, then Modal's part of what is left.
  let routeDrop = 0;
  let routeModal = 0;
  let routeNone = 0;
  let hostsSeenLive = trace.hosts(0);
  const reroute = (): void => {
    // Spillway corrects the weights for the hosts it knows are down (the healthy-fraction correction).
    const cla = buildLoadAssignment({
      service,
      plan: applied,
      modalAddresses: ['192.0.2.1'],
      cordons: new Map(),
      inHouseHealthyFraction: service.inHouse.length > 0 ? Math.min(hostsSeenLive, service.inHouse.length) / service.inHouse.length : 1,
    });
    const health = new Map<string, HostHealth>();
    service.inHouse.forEach((e, i) => {
      if (i >= hostsSeenLive) health.set(`${e.address}:${e.port}`, 'UNHEALTHY');
    });
    const shares = trafficShares(modelOfAssignment(cla, health));
    const passed = 1 - shares.dropped;
    routeDrop = shares.dropped;
    routeModal = passed > 0 ? (shares.byLocality['modal'] ?? 0) / passed : 0;
    routeNone = passed > 0 ? shares.noHost / passed : 0;
  };
  reroute();
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
    served = 0,
    shed = 0,
    errors = 0,
    coldHits = 0,
    modalServed = 0,
    inHouseRequests = 0,
    inHouseOverflow = 0,
    inHouseOverflowUnforeseeable = 0,
    wastedSpill = 0;
  const changesMs = (trace.changesS ?? []).map((c) => c * 1000);
  const unforeseeable = (now: number): boolean => changesMs.some((c) => now >= c && now < c + p.lrsIntervalMs);
  /** The in-house target the operator asked for at time t: what spill beyond is not waste. */
  const inHouseTargetRps = (t: number): number =>
    (p.targetUtilization * trace.hosts(t) * p.slotsPerHost * 1000 * (trace.scaler?.(t) ?? 1)) / p.serviceMeanMs;
  const lrs = { inIssued: 0, inOk: 0, inErr: 0, mIssued: 0, mOk: 0, mErr: 0, dropped: 0 };
  let inputs: ControllerInputs | null = null;
  const stats: ModalStatsStatus = { service: 'svc', consecutiveFailures: 0 };
  let timeToSpill: number | null = null;

  const inDone: number[] = []; // arrival time of each in-house request, by ref
  const record = (arrival: number, now: number): void => {
    served++;
    hist.add(now - arrival);
  };

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
  // As the fake Modal does (tools/fake-modal/autoscaler-sim.ts): the least loaded warm container,
  // oldest first on a tie — load is spread, so a container goes idle only when all of them could.
  const freeContainer = (): number => {
    let best = -1;
    for (let i = 0; i < containers.length; i++) {
      const c = containers[i]!;
      if (!c.warm || c.stopped || c.inFlight >= p.modalMaxInputs) continue;
      const b = best < 0 ? undefined : containers[best]!;
      if (!b || c.inFlight < b.inFlight || (c.inFlight === b.inFlight && c.startedAt < b.startedAt)) best = i;
    }
    return best;
  };
  // Envoy gives up on a request past the route's timeout wherever it waits, Modal's queue included.
  const modalWaitLimitMs = p.routeTimeoutMs > 0 ? Math.min(p.modalCapMs, p.routeTimeoutMs) : p.modalCapMs;
  /** Fails what waited past the limit (the backlog is in arrival order: the oldest are at its head). */
  const expireBacklog = (now: number): void => {
    while (bHead < backlog.length && now - backlog[bHead]! > modalWaitLimitMs) {
      bHead++;
      errors++;
      lrs.mErr++;
    }
  };
  const drainBacklog = (now: number): void => {
    while (bHead < backlog.length) {
      expireBacklog(now);
      if (bHead >= backlog.length) return;
      const arrival = backlog[bHead]!;
      const c = freeContainer();
      if (c < 0) return;
      bHead++;
      startModal(c, arrival, now);
    }
  };
  const toModal = (now: number): void => {
    lrs.mIssued++;
    const c = bHead >= backlog.length ? freeContainer() : -1;
    if (c >= 0) startModal(c, now, now);
    else if (backlog.length - bHead >= p.modalMaxBacklog) {
      // Modal refuses what it cannot queue.
      errors++;
      lrs.mErr++;
    } else {
      coldHits++;
      backlog.push(now);
    }
  };
  const toInHouse = (now: number): void => {
    lrs.inIssued++;
    inHouseRequests++;
    if (busy < slots) startInHouse(now, now);
    else if (queue.length - qHead < p.pendingLimit) queue.push(now);
    else {
      // The backends' own queue is full: a 503 from in-house, the overload Spillway exists to avoid.
      inHouseOverflow++;
      if (unforeseeable(now)) inHouseOverflowUnforeseeable++;
      errors++;
      lrs.inErr++;
    }
  };
  const publish = (plan: TrafficPlan, now: number, instant: boolean): void => {
    if (samePlan(published, plan)) return;
    pushes++;
    variation += Math.abs(plan.modalWeight - published.modalWeight) / WEIGHT_TOTAL;
    published = plan;
    if (instant) {
      applied = plan;
      reroute();
      return;
    }
    pendingPlan = plan;
    if (!applyScheduled) {
      applyScheduled = true;
      heap.push(Math.max(now + p.xdsDelayMs, lastApplyAt + p.mergeWindowMs), K.Apply);
    }
  };
  const modalShareApplied = (): number => routeModal * (1 - routeDrop);

  /** Starts queued in-house requests while slots are free (those past the route timeout fail). */
  const startQueued = (now: number): void => {
    while (busy < slots && qHead < queue.length) {
      const a = queue[qHead++]!;
      if (now - a > p.routeTimeoutMs) {
        errors++;
        lrs.inErr++;
        continue;
      }
      startInHouse(a, now);
    }
  };

  heap.push(0, K.Autoscale);
  // Envoy's load reports run on its own timer, not in step with the trace's events: a host that
  // comes back just after a report waits almost a whole interval to be seen.
  const lrsPhaseMs = Math.round(p.lrsIntervalMs * (0.05 + 0.95 * new Rng(p.seed + 3).uniform()));
  heap.push(lrsPhaseMs, K.Lrs);
  heap.push(0, K.Poll);
  heap.push(p.lrsIntervalMs + 1, K.Tick);
  // Spillway's probe runs on its own timer too.
  if (p.probeIntervalMs > 0) heap.push(Math.round(p.probeIntervalMs * new Rng(p.seed + 5).uniform()), K.Probe);
  let probedHosts = trace.hosts(0);
  let probeFailStreak = 0;
  let probeChangedAt = -Infinity;

  let nextArrival = rng.exp(1000 / Math.max(1e-6, trace.rate(0)));
  let lastLrsAt = 0;
  // The report Envoy will send next: a follow-up moves it (Envoy restarts its timer on a new
  // interval), so an earlier scheduled report that no longer matches is skipped.
  let nextLrsAt = lrsPhaseMs;
  let followingUp = false;
  let lastFollowUpAt: number | undefined;
  for (;;) {
    const tEv = heap.peekT();
    const now = Math.min(tEv, nextArrival);
    if (now >= endMs) break;
    if (nextArrival <= tEv) {
      // Arrival: non-homogeneous Poisson, rate read at the arrival instant.
      requests++;
      if (rng.uniform() < routeDrop) {
        shed++;
        lrs.dropped++;
      } else {
        const u = rng.uniform();
        if (u < routeNone) errors++;
        else if (u < routeNone + routeModal) toModal(now);
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
        startQueued(now);
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
        const arrival = modalDoneArrival[ev.ref]!;
        record(arrival, now);
        modalServed++;
        // Served by Modal though in-house was under its target when the request arrived: waste.
        if (trace.rate(arrival / 1000) < inHouseTargetRps(arrival / 1000)) wastedSpill++;
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
        // The in-house pool follows the hosts that are up (checked each second, as the traces change).
        slots = trace.hosts(now / 1000) * p.slotsPerHost;
        startQueued(now);
        // Envoy's health checks find lost (or returning) in-house hosts after a detection delay.
        const seen = trace.hosts(Math.max(0, now - p.healthCheckDetectMs) / 1000);
        if (seen !== hostsSeenLive) {
          hostsSeenLive = seen;
          reroute();
        }
        // Modal's autoscaler: enough containers for running + backlog at target_inputs, never
        // below min_containers; idle containers go after the scaledown window.
        // Requests Envoy gave up on are no demand, and no longer in Modal for the next report.
        expireBacklog(now);
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
        if (now !== nextLrsAt) break;
        const dt = (now - lastLrsAt) / 1000;
        lastLrsAt = now;
        expireBacklog(now);
        let mFlight = backlog.length - bHead;
        for (const c of containers) mFlight += c.stopped ? 0 : c.inFlight;
        const base = { service: 'svc', observedAtMs: now };
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
          offeredNoiseRps: Math.sqrt(lrs.inIssued + lrs.mIssued + lrs.dropped) / dt,
          modalStats: stats,
          // Spillway counts hosts from these reports (host health): a lost host once the report shows
          // it, a returning one once Envoy sends it requests — the first report after Envoy uses it;
          // a probe that changed its mind within this report's window is newer and wins.
          inHouseCapacity:
            (now - p.lrsIntervalMs < probeChangedAt ? probedHosts : Math.min(trace.hosts(now / 1000), hostsSeenLive)) * p.slotsPerHost,
          modalMaxInputs: p.modalMaxInputs,
          modalTargetInputs: p.modalTargetInputs,
          modalMaxContainers: p.modalMaxContainers,
          requestDeadlineMs: p.routeTimeoutMs,
          reportIntervalMs: p.lrsIntervalMs,
        };
        lrs.inIssued = lrs.inOk = lrs.inErr = lrs.mIssued = lrs.mOk = lrs.mErr = lrs.dropped = 0;
        // After a follow-up's report Spillway restores the usual interval (lrs-server.ts).
        followingUp = false;
        nextLrsAt = now + p.lrsIntervalMs;
        heap.push(nextLrsAt, K.Lrs);
        if (ctl.nudge) heap.push(now + 20, K.Nudge);
        break;
      }
      case K.Probe: {
        const up = trace.hosts(now / 1000);
        probeFailStreak = up < probedHosts ? probeFailStreak + 1 : 0;
        if (up > probedHosts || (up < probedHosts && probeFailStreak >= p.probeUnhealthyThreshold)) {
          probedHosts = up;
          probeFailStreak = 0;
          probeChangedAt = now;
          const seen = inputs as ControllerInputs | null;
          if (seen) inputs = { ...seen, inHouseCapacity: probedHosts * p.slotsPerHost };
          if (ctl.nudge) heap.push(now + 20, K.Nudge);
        }
        heap.push(now + p.probeIntervalMs, K.Probe);
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
        // Through the same mapping Spillway applies to Modal's reply (proto3 zeros included).
        stats.last = toModalStatsSample(
          'svc',
          { backlog: backlog.length - bHead, numTotalRunners: runners, numRunningInputs: running, inputHeadroom: headroom },
          now,
        );
        break;
      }
      case K.Tick:
      case K.Nudge: {
        if (inputs) {
          const act = ctl.tick({
            nowMs: now,
            // The drain's capacity_scaler is Spillway's own configuration: known at once.
            inputs: { ...inputs, capacityScaler: trace.scaler?.(now / 1000) ?? 1, modalStats: { ...stats } },
            trace,
            params: p,
          });
          if (act.plan) publish(act.plan, now, act.instant === true);
          // The LRS server's rule (lrs/early-report.ts); the simulated Envoy accepts any window.
          const fu = act.loadFollowUpMs;
          if (
            fu !== undefined &&
            mayAskEarlyReport({
              afterMs: fu,
              intervalMs: p.lrsIntervalMs,
              minWindowMs: 0,
              pending: followingUp,
              lastAskedAtMs: lastFollowUpAt,
              nowMs: now,
            })
          ) {
            followingUp = true;
            lastFollowUpAt = now;
            nextLrsAt = Math.round(now + fu);
            heap.push(nextLrsAt, K.Lrs);
          }
          if (act.minContainers !== undefined && act.minContainers !== minContainers) {
            const spacing = act.minContainers > minContainers ? p.actuatorRaiseIntervalMs : p.actuatorMinIntervalMs;
            if (act.instant) minContainers = act.minContainers;
            else if (pendingMin !== act.minContainers && now - lastActuateAt >= spacing) {
              pendingMin = act.minContainers;
              lastActuateAt = now;
              heap.push(now + p.actuatorDelayMs, K.Actuate);
            }
          }
        }
        if (ev.kind === K.Tick) heap.push(now + ctl.tickMs, K.Tick);
        break;
      }
      case K.Apply:
        applyScheduled = false;
        if (pendingPlan) {
          applied = pendingPlan;
          pendingPlan = null;
          lastApplyAt = now;
          reroute();
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
    served,
    shed,
    errors,
    inHouseRequests,
    inHouseOverflow,
    inHouseOverflowUnforeseeable,
    wastedSpill,
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

/** The service Spillway would publish for this simulation: its real builder makes the CLA. */
function simService(hosts: number, p: SimParams): ServiceConfig {
  const r = parseConfigObject({
    services: [
      {
        name: 'svc',
        listener: '127.0.0.1:10000',
        in_house: {
          endpoints: Array.from({ length: hosts }, (_, i) => ({ address: `10.0.0.${i + 1}`, port: 80, capacity: p.slotsPerHost })),
        },
        modal: {
          url: 'https://sim--svc.modal.run',
          connect_address: '192.0.2.1',
          app: 'sim',
          function: 'svc',
          max_containers: p.modalMaxContainers,
        },
        capacity: { policy: 'static' },
      },
    ],
  });
  if (!r.ok) throw new Error(`simulator service does not validate: ${r.errors.join('; ')}`);
  return r.config.services[0]!;
}
