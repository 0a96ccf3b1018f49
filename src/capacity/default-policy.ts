// The default policy: feed-forward on offered demand (Little's law), capped by what Modal can
// serve now, fast up / slow down with a hold window and dead band, pre-warm ahead of the cold
// start, soft-cordon on the way down, deliberate shedding when both tiers are full.
// docs/capacity-model.md explains the control law and its terms.
import { UnobservableMode, type CapacityPolicy } from '../config/capacity-policy.js';
import { offeredRps } from '../model/inputs.js';
import { ModalHealth, planForShare, shareOf, type TrafficPlan } from '../model/traffic-plan.js';
import type { PolicyOutcome } from './seed-policy.js';
import { clamp } from '../core/numbers.js';
import { modalWarmInputs, pct } from './signals.js';
import {
  Mode,
  type AutoscalerIntent,
  type ControllerInputs,
  type DefaultState,
  type InputReading,
  type LoadFollowUp,
  type StartingRunners,
} from './types.js';
import type { ModalStatsSample } from '../model/inputs.js';

export interface DefaultOutcome extends PolicyOutcome<DefaultState> {
  autoscaler?: AutoscalerIntent;
  loadFollowUp?: LoadFollowUp;
  readings: Record<string, InputReading>;
}

export function initialDefaultState(): DefaultState {
  return {
    kind: 'default',
    lambdaFast: 0,
    lambdaSlow: 0,
    lambdaTrend: 0,
    share: 0,

    verifiedModalInputs: 0,
    verifiedAtMs: null,
    drainStartedAtMs: null,
    prewarmMin: 0,
    prewarmRaisedAtMs: null,
    prewarmIncreasedAtMs: null,
    containerSeconds: 0,
    startingRunners: { seen: 0, seenAtMs: null, groups: [] },
    queueOverflowAtMs: null,
    demandReportAtMs: null,
    demandReportIntervalMs: null,
    lastReportRps: null,
    inHouseInFlightAvg: null,
    corroboratedReportAtMs: null,
    stepRps: null,
    demandSinceMs: null,
  };
}

/**
 * Brings memory saved by an earlier version to this one's shape before it is used — restored after a
 * restart, or resumed by a new leader from its predecessor: the fields added on 2026-11-29
 * (startingRunners, queueOverflowAtMs, demandReportAtMs, demandSinceMs) and since (demandReportIntervalMs,
 * lastReportRps, prewarmIncreasedAtMs, inHouseInFlightAvg, corroboratedReportAtMs, stepRps) start as at a first
 * start (runners already up count as warm, no queue seen; averages that were already running are
 * taken as settled; no report to compare the next with). Anything that is not the default policy's
 * state is left as it is.
 */
export function upgradeSavedState(state: unknown): void {
  if (typeof state !== 'object' || state === null || Array.isArray(state)) return;
  const st = state as Record<string, unknown>;
  if (st['kind'] !== 'default') return;
  const initial = initialDefaultState();
  if (!('startingRunners' in st)) st['startingRunners'] = initial.startingRunners;
  if (!('queueOverflowAtMs' in st)) st['queueOverflowAtMs'] = initial.queueOverflowAtMs;
  if (!('demandReportAtMs' in st)) st['demandReportAtMs'] = initial.demandReportAtMs;
  if (!('demandSinceMs' in st)) st['demandSinceMs'] = initial.demandSinceMs;
  if (!('demandReportIntervalMs' in st)) st['demandReportIntervalMs'] = initial.demandReportIntervalMs;
  if (!('lastReportRps' in st)) st['lastReportRps'] = initial.lastReportRps;
  if (!('inHouseInFlightAvg' in st)) st['inHouseInFlightAvg'] = initial.inHouseInFlightAvg;
  if (!('corroboratedReportAtMs' in st)) st['corroboratedReportAtMs'] = initial.corroboratedReportAtMs;
  if (!('stepRps' in st)) st['stepRps'] = initial.stepRps;
  if (!('prewarmIncreasedAtMs' in st)) st['prewarmIncreasedAtMs'] = initial.prewarmIncreasedAtMs;
}

const HOUR_MS = 3_600_000;
/** A report this far over the in-house target is a step: spill at once, without waiting for the average. */
const STEP_MARGIN = 0.15;
/**
 * …and this many standard deviations of its own counting noise away: at 50 rps over 1 s reports
 * the noise alone is ±7 rps (14 %), so a 15 % margin by itself read one report in seven as a step.
 * 2.5 σ is one report in about 160 from noise upward (80 either way), while a doubling clears it on
 * its first full report from about 13 rps, and 1.5× from about 40 rps.
 */
const STEP_NOISE_SIGMAS = 2.5;
/** Smoothed demand is over a line (start, stop, the in-house maximum) only by this many σ of its counting noise. */
const CLEAR_NOISE_SIGMAS = 2;
/** Spilling stops when demand is within this fraction over the in-house target. */
const STOP_MARGIN = 0.03;
/** In-house in flight this far over its slots at the maximum utilization is a queue to drain (M/D/c at ρ 0.95 sits well under it). */
const QUEUE_TOLERANCE = 0.5;
/** …over this long: one or two LRS intervals, while the queued requests are still served. */
const QUEUE_DRAIN_S = 2;
/** A surplus counts as a queue this long after the backends last refused requests with it in flight. */
const QUEUE_MEMORY_MS = 5_000;
/**
 * A report that moved from the previous one by this many σ of their noise asks the Envoys for the
 * next report sooner: a step that began shortly before a report shows in it only as
 * a fraction (the report counts the old and the new rate over its window), and waiting a whole
 * interval for the report that shows all of it is most of the reaction time. A second look costs
 * one extra report; the spill itself still waits for a step or the average.
 */
const FOLLOW_UP_SIGMAS = 1;
/**
 * How soon the second look comes: long enough to count a step by its noise at tens of rps (a
 * doubling from 48 rps clears 2.5 σ in half a second about nine times in ten, in 0.4 s three in four,
 * a quadrupling from 24 rps almost always), short enough that a step begun up to ≈ 0.65 s before the
 * report that asked (later ones show enough in it to act at once) is acted on within 1.1 s at a 1 s
 * interval (bench:reaction --input lrs).
 */
export const FOLLOW_UP_AFTER_MS = 400;
/**
 * The in-flight gauge in each report sees a step within one service time, where the counts see
 * only the fraction of the window after it: a step begun 0.15 s before a report with a 0.2 s
 * service time has three quarters of its new rate in flight, and a seventh of it in the counts. While in-house takes everything, a report
 * whose in-house in-flight rose this many σ (Poisson) over its recent average asks for a second look.
 * Read only then: while spilling or shedding the split moves the gauge, and long-lived requests
 * (streams) make it no rate at all — an average of the gauge, not Little's law, is the baseline.
 */
const FOLLOW_UP_IN_FLIGHT_SIGMAS = 2.5;
/** The gauge's average follows a few reports (an overflow's high in-flight is forgotten in seconds). */
const FOLLOW_UP_IN_FLIGHT_TAU_MS = 2_000;
/** The average's own noise, as a share of one gauge's variance (an EWMA over two intervals: ≈ 1/4). */
const IN_FLIGHT_AVG_VARIANCE_SHARE = 0.25;
/**
 * A rise whose report also shows the in-house in-flight gauge jumped is a step at this many σ of its
 * counts instead of STEP_NOISE_SIGMAS: two independent signals agreeing (together rarer on noise
 * than 2.5 σ of the counts alone), and an early report's short window, noisy on its own, then
 * suffices to act on (bench:reaction --input lrs: about one early report in six did not).
 */
const CORROBORATED_STEP_SIGMAS = 1.5;
/** Drop changes smaller than this many points are not published (each is an EDS push). */
const DROP_DEAD_BAND = 3;
const ewma = (prev: number, x: number, dtMs: number, tauMs: number): number => prev + (1 - Math.exp(-dtMs / tauMs)) * (x - prev);

/** When the load reports behind offered demand were taken (the latest of the three), if any. */
function demandReportAt(inputs: ControllerInputs): number | undefined {
  const at = [inputs.inHouse?.observedAtMs, inputs.modal?.observedAtMs, inputs.drops?.observedAtMs].filter(
    (t): t is number => t !== undefined,
  );
  return at.length === 0 ? undefined : Math.max(...at);
}

/** How far a report must move from `base` to be a step rather than counting noise. */
export function stepThreshold(base: number, noiseRps: number, sigmas: number = STEP_NOISE_SIGMAS): number {
  return Math.max(STEP_MARGIN * base, sigmas * noiseRps);
}

/** In-house in flight jumped over its average by more than its noise (FOLLOW_UP_IN_FLIGHT_SIGMAS). */
function inFlightJumped(inFlight: number, avg: number | null): boolean {
  if (avg === null) return false;
  // Poisson in flight (at least one request's worth), plus the average's own noise.
  return inFlight - avg > FOLLOW_UP_IN_FLIGHT_SIGMAS * Math.sqrt(Math.max(1, avg) * (1 + IN_FLIGHT_AVG_VARIANCE_SHARE));
}

/** Modal capacity in inputs the policy may rely on now, and why. */
interface ModalView {
  inputs: number;
  observable: boolean;
  /** Modal cannot grow further (at max_containers): excess must be shed. */
  atCeiling: boolean;
  note: string;
}

/**
 * Which Modal runners are still cold-starting, from how their count rose: each rise is a group that
 * is warm a cold start after the sample that first showed it. Runners that stop are taken from the
 * warm ones first (Modal stops idle containers). Runners present at the first sample this memory
 * sees are taken as warm (underrating a warm tier would shed after every start); after a warm
 * restart, runners that appeared while Spillway was down count as starting for one cold start.
 */
export function trackStartingRunners(prev: StartingRunners, sample: ModalStatsSample | undefined, coldStartMs: number): StartingRunners {
  if (!sample) return prev;
  const fresh: StartingRunners = { seen: sample.runners, seenAtMs: sample.observedAtMs, groups: [] };
  if (prev.seenAtMs === null) return fresh;
  // The same sample again; or one older than the last seen — a clock that went back, or a new
  // leader's lagging behind the memory it resumed — which starts afresh rather than freeze.
  if (sample.observedAtMs === prev.seenAtMs) return prev;
  if (sample.observedAtMs < prev.seenAtMs) return fresh;
  // Restored memory is only shape-checked: groups that are not numbers are dropped, not summed.
  const groups = prev.groups
    .filter((g) => Number.isFinite(g.n) && Number.isFinite(g.warmAtMs) && g.n > 0 && g.warmAtMs > sample.observedAtMs)
    .map((g) => ({ ...g }));
  const diff = sample.runners - prev.seen;
  if (diff > 0) groups.push({ n: diff, warmAtMs: sample.observedAtMs + coldStartMs });
  // Never more starting than there are runners (the newest go first when the count falls).
  let over = groups.reduce((n, g) => n + g.n, 0) - sample.runners;
  for (let i = groups.length - 1; i >= 0 && over > 0; i--) {
    const take = Math.min(over, groups[i]!.n);
    groups[i]!.n -= take;
    over -= take;
  }
  return { seen: sample.runners, seenAtMs: sample.observedAtMs, groups: groups.filter((g) => g.n > 0) };
}

const startingAt = (t: StartingRunners, nowMs: number): number => t.groups.reduce((n, g) => (g.warmAtMs > nowMs ? n + g.n : n), 0);

function viewModal(
  s: DefaultState,
  startingRunners: StartingRunners,
  inputs: ControllerInputs,
  nowMs: number,
  policy: CapacityPolicy,
): ModalView {
  const cfg = policy.default;
  const st = inputs.modalStats;
  const sample = st.last;
  const age = sample ? nowMs - sample.observedAtMs : Infinity;
  const fresh = sample !== undefined && age <= policy.staleAfterMs && st.consecutiveFailures < policy.failAfterErrors;
  if (fresh) {
    const starting = startingAt(startingRunners, nowMs);
    const warm = modalWarmInputs(sample, inputs.modalMaxInputs, inputs.modalMaxContainers, inputs.modal?.inProgress ?? 0, starting);
    // Full only when every container Modal may run is up and warm: runners alone reach the
    // ceiling early in a scale-up while most are still cold-starting (a false "full").
    const atCeiling = sample.runners >= inputs.modalMaxContainers && warm >= (inputs.modalMaxContainers - 1) * inputs.modalMaxInputs;
    const head =
      sample.inputHeadroom !== undefined
        ? `headroom ${sample.inputHeadroom}`
        : `${sample.runners} runners${starting > 0 ? ` (${starting} starting)` : ''}, backlog ${sample.backlog}`;
    return { inputs: warm, observable: true, atCeiling, note: `Modal warm capacity ${Math.round(warm)} inputs (${head})` };
  }
  // Between polls (or just after a restart) the capacity verified a moment ago still stands.
  const verifiedAge = s.verifiedAtMs === null ? Infinity : nowMs - s.verifiedAtMs;
  if (st.consecutiveFailures < policy.failAfterErrors && verifiedAge <= policy.staleAfterMs) {
    return {
      inputs: s.verifiedModalInputs,
      observable: true,
      atCeiling: false,
      note: `Modal warm capacity ${Math.round(s.verifiedModalInputs)} inputs (verified ${Math.round(verifiedAge / 1000)} s ago)`,
    };
  }
  const why =
    st.consecutiveFailures >= policy.failAfterErrors
      ? `${st.consecutiveFailures} failed polls`
      : sample
        ? `last sample ${Math.round(age / 1000)} s old`
        : 'no sample yet';
  const m = inputs.modal;
  const issued = m ? m.successRps + m.errorRps : 0;
  const lrsFresh = m !== undefined && nowMs - m.observedAtMs <= policy.staleAfterMs;
  const answeringWell = lrsFresh && issued > 0 && m.errorRps / issued <= cfg.maxModalErrorRatio;
  if (cfg.unobservable === UnobservableMode.Decay && answeringWell && s.verifiedAtMs !== null) {
    // Keep spilling at the last verified capacity, decaying, while the data plane says Modal is fine.
    const decayed = s.verifiedModalInputs * Math.exp(-(nowMs - s.verifiedAtMs) / cfg.decayTauMs);
    return {
      inputs: decayed,
      observable: false,
      atCeiling: true,
      note: `Modal stats unobservable (${why}); decaying trusted capacity to ${Math.round(decayed)} inputs while LRS shows Modal answering`,
    };
  }
  return { inputs: 0, observable: false, atCeiling: true, note: `Modal stats unobservable (${why})` };
}

/**
 * Containers pre-warm wants: for the excess predicted one cold start ahead. Ahead of the limit, the
 * trend says how soon demand will need Modal (bounded: a step makes the slope huge for a moment, and
 * min_containers is a floor Modal keeps and bills for). Past the limit the need is known — the
 * latest report's excess; extrapolating a step's slope there bought containers no demand used.
 */
function prewarmNeed(
  inputs: ControllerInputs,
  policy: CapacityPolicy,
  d: { lambda: number; lambdaFast: number; lambdaTrend: number; muTarget: number; w: number; costCapped: boolean },
): { base: number; excessRps: number; nNeed: number } {
  const cfg = policy.default;
  const base = cfg.prewarm.baseMinContainers;
  const lookAhead = Math.min(1.2 * d.lambda, Math.max(0, d.lambdaFast + Math.max(0, d.lambdaTrend) * (cfg.prewarm.horizonMs / 1000)));
  const predicted = d.lambda >= d.muTarget ? d.lambda : lookAhead;
  const excessRps = Math.max(0, Math.max(predicted, d.lambda) - d.muTarget);
  const perContainer = inputs.modalTargetInputs ?? inputs.modalMaxInputs;
  const budget = cfg.costCapContainerSecondsPerHour === null ? Infinity : d.costCapped ? base : inputs.modalMaxContainers;
  const nNeed = Math.min(inputs.modalMaxContainers, budget, Math.ceil((excessRps * d.w) / Math.max(1, perContainer)));
  return { base, excessRps, nNeed };
}

/**
 * Modal queues up to 2,000 synchronous calls per function before refusing more (Modal guide,
 * "function invocation methods"): a wait budget never asks it to hold more than that.
 */
const MODAL_MAX_QUEUED = 2_000;
/** Containers asked for and not shown by Modal after this many cold starts are not coming. */
const ASKED_GRACE_COLD_STARTS = 1.5;

/**
 * What Modal may queue: containers up or coming (runners Modal shows, or asked for by pre-warm and not
 * shown yet) serve what waits for them once warm, so a spilled request may wait inside Modal up to
 * the wait budget, cold start included. Modal is given the room left in that queue — slots + rate ×
 * (budget − time until the last of them is warm) − what Envoy has in Modal now — spread over the time
 * to the next load report (Envoy's count of requests in Modal moves only with reports).
 * Only while Modal can catch up (the excess within what every container it may run serves): past
 * that the queue would only grow, adding wait without serving one more request, and the excess is
 * shed at the edge. Bounded by requests in Modal, not by a rate.
 */
function modalQueueRoom(
  startingRunners: StartingRunners,
  inputs: ControllerInputs,
  nowMs: number,
  policy: CapacityPolicy,
  o: {
    asked: number;
    /** When pre-warm last asked for more; null: nothing asked that Modal was sent (the base alone). */
    askedAtMs: number | null;
    runners: number;
    w: number;
    excessRps: number;
    usable: boolean;
    /** Until the next load report (in-flight in Modal is read from reports): the room is filled over it. */
    horizonS: number;
  },
): { rps: number; note: string } {
  const cfg = policy.default;
  // A request Envoy gives up on before Modal serves it is a failure, not goodput: the budget never runs
  // past how long Envoy lets it wait, less the service itself.
  const routeS = (inputs.requestDeadlineMs ?? 0) / 1000;
  const budgetS = routeS > 0 ? Math.min(cfg.modalWaitBudgetMs / 1000, routeS - o.w) : cfg.modalWaitBudgetMs / 1000;
  // Asked for and not shown yet count as coming only for a while after the ask: Modal may run fewer
  // (a quota, a deploy that reset the floor), and slots that never come would let the queue outgrow the budget.
  const comingAsked = o.askedAtMs !== null && nowMs - o.askedAtMs <= ASKED_GRACE_COLD_STARTS * cfg.coldStartMs && o.asked > o.runners;
  const containers = Math.min(inputs.modalMaxContainers, comingAsked ? o.asked : o.runners);
  const ceilingRps = (inputs.modalMaxContainers * inputs.modalMaxInputs) / o.w;
  if (!o.usable || containers === 0 || o.excessRps > ceilingRps) return { rps: 0, note: '' };
  if (budgetS <= 0) return { rps: 0, note: cfg.modalWaitBudgetMs > 0 ? "; the route's timeout leaves no wait in Modal" : '' };
  const slots = containers * inputs.modalMaxInputs;
  const askedWarmAtMs = comingAsked && o.askedAtMs !== null ? o.askedAtMs + cfg.coldStartMs : nowMs;
  const lastWarmAtMs = Math.max(nowMs, askedWarmAtMs, ...startingRunners.groups.map((g) => g.warmAtMs));
  const waitS = (lastWarmAtMs - nowMs) / 1000;
  const inModal = inputs.modal?.inProgress ?? 0;
  const budget = `budget ${+budgetS.toFixed(1)} s${budgetS * 1000 < cfg.modalWaitBudgetMs ? ", the route's timeout" : ''}`;
  // A request queued now waits at least until they are warm: past the budget, none may be.
  if (waitS >= budgetS)
    return { rps: 0, note: `; ${containers} containers warm in ${waitS.toFixed(1)} s, too late for any wait (${budget})` };
  const bound = Math.min(slots + (slots / o.w) * (budgetS - waitS), slots + MODAL_MAX_QUEUED);
  const room = Math.max(0, bound - inModal);
  if (room <= 0) return { rps: 0, note: `; Modal queue full: ${Math.round(inModal)} in Modal (${budget})` };
  return {
    rps: room / Math.max(1, o.horizonS),
    note: `; ${containers} containers ${waitS > 0 ? `warm in ${waitS.toFixed(1)} s` : 'warm'}, ${Math.round(room)} more may wait in Modal (${budget})`,
  };
}

export function decideDefault(
  prev: DefaultState,
  prevPlan: TrafficPlan | undefined,
  prevAtMs: number | undefined,
  inputs: ControllerInputs,
  nowMs: number,
  policy: CapacityPolicy,
): DefaultOutcome {
  const cfg = policy.default;
  const first = prevAtMs === undefined;
  const dtMs = first ? 0 : clamp(nowMs - prevAtMs, 0, 60_000);
  const dtS = dtMs / 1000;

  // 1. Offered demand. The split follows the latest report (a flash crowd must not wait for an
  //    average, and shedding must follow demand down as fast as up); the smoothed signals only
  //    decide when to start spilling and feed the pre-warm trend.
  const lambda = offeredRps(inputs);
  // The averages take in each load report once, weighted by the time since the last one: a decision
  // between reports (the tick) sees the same report again, and letting the averages drift toward it
  // moved the plan — one more EDS push — with nothing new to go on.
  const reportAtMs = demandReportAt(inputs);
  const sameReport = !first && reportAtMs !== undefined && reportAtMs === prev.demandReportAtMs;
  // The first load report is the first measurement of demand: the averages start from it. Climbing
  // to it from the zero assumed before any report is a step the trend would extrapolate into a
  // phantom ramp (≈ 12 % over the demand for half a minute: a start at 50 rps spilled at ρ 0.83).
  // (Memory from an earlier version has no report time either, but averages already running.)
  const firstReport =
    first || (reportAtMs !== undefined && prev.demandReportAtMs === null && prev.lambdaFast === 0 && prev.lambdaSlow === 0);
  const demandSinceMs = firstReport ? (reportAtMs ?? null) : prev.demandSinceMs;
  // A new report after a known one: the time between them (also how far apart reports come).
  const sinceLastReportMs =
    !firstReport && !sameReport && reportAtMs !== undefined && prev.demandReportAtMs !== null
      ? clamp(reportAtMs - prev.demandReportAtMs, 0, 60_000)
      : undefined;
  const avgDtMs = firstReport || sameReport ? 0 : (sinceLastReportMs ?? dtMs);
  const reportIntervalMs = sinceLastReportMs ?? prev.demandReportIntervalMs;
  const lambdaFast = firstReport ? lambda : ewma(prev.lambdaFast, lambda, avgDtMs, cfg.fastWindowMs);
  const lambdaSlow = firstReport ? lambda : ewma(prev.lambdaSlow, lambda, avgDtMs, cfg.slowWindowMs);
  const slope = avgDtMs > 0 ? (lambdaFast - prev.lambdaFast) / (avgDtMs / 1000) : 0;
  const lambdaTrend = firstReport ? 0 : ewma(prev.lambdaTrend, slope, avgDtMs, cfg.fastWindowMs * 2);
  // The split follows the smoothed demand while demand is steady (report noise would flap the
  // weights), and the latest report as soon as it moves by a step either way. One report's noise
  // is what its counts allow (Poisson), at the rate it reports.
  const noise = inputs.offeredNoiseRps ?? 0;
  // While in-house takes everything, a jump in its in-flight gauge on a new report corroborates a
  // rise in the counts (item 1 of docs/capacity-model.md: "A second look").
  const spillingBefore = (prevPlan?.modalWeight ?? 0) > 0 && prevPlan?.modalHealth === ModalHealth.Healthy;
  const acting = spillingBefore || (prevPlan?.dropPercent ?? 0) > 0;
  const newReport = sinceLastReportMs !== undefined;
  const inHouseInFlight = inputs.inHouse?.inProgress ?? 0;
  // Judged once per report, when it is new (the gauge's average then takes it in, and the spill it
  // starts makes `acting` true): decisions between reports see the same verdict.
  const corroborated = newReport
    ? !acting && inFlightJumped(inHouseInFlight, prev.inHouseInFlightAvg)
    : sameReport && prev.corroboratedReportAtMs !== null && prev.corroboratedReportAtMs === reportAtMs;
  const riseSigmas = corroborated ? CORROBORATED_STEP_SIGMAS : STEP_NOISE_SIGMAS;
  const stepped =
    lambda > lambdaFast
      ? lambda - lambdaFast > stepThreshold(lambdaFast, noise, riseSigmas)
      : lambdaFast - lambda > stepThreshold(lambdaFast, noise);
  // A step up goes on while the reports after it stay with it: within a step of the report planned
  // on before, and still clearly (1 σ, and never under 6 % when reports carry no counts) over the
  // average. Otherwise a report a little under the bar after a step, its average still far behind,
  // handed the plan back to the average, and a spill the step had started stopped one report later.
  // Only up: after a fall the average coming down to the reports is the release it should be.
  const stepRps = prev.stepRps;
  const stepGoesOn =
    stepRps !== null &&
    stepRps > lambdaFast &&
    lambda - lambdaFast > Math.max(noise, (STEP_MARGIN / STEP_NOISE_SIGMAS) * lambdaFast) &&
    Math.abs(lambda - stepRps) <= stepThreshold(stepRps, noise);
  const planOnReport = stepped || stepGoesOn;
  const lambdaPlan = planOnReport ? lambda : lambdaFast;

  // 2. In-house: what it serves at the target and at most, from capacity alone (never from a
  //    transient queue), scaled for planned drains.
  const wM = policy.modalServiceTimeMs / 1000;
  const muFull = inHouseRateRps(inputs, policy);
  const muTarget = cfg.targetUtilization * muFull;
  const inMax = cfg.maxUtilization * muFull;

  // 3. What Modal can take now: warm capacity over its service time (or over what LRS shows Modal
  //    really takes per request, when slower), a probe bounded by in-flight while it is cold, the
  //    cost cap.
  const sample = inputs.modalStats.last;
  const startingRunners = trackStartingRunners(prev.startingRunners, sample, policy.default.coldStartMs);
  const modal = viewModal(prev, startingRunners, inputs, nowMs, policy);
  const containerSeconds = prev.containerSeconds * Math.exp(-dtMs / HOUR_MS) + (modal.observable && sample ? sample.runners : 0) * dtS;
  const costCapped = cfg.costCapContainerSecondsPerHour !== null && containerSeconds >= cfg.costCapContainerSecondsPerHour;
  const m = inputs.modal;
  const measuredW = m && m.issuedRps > 1 ? m.inProgress / m.issuedRps : 0;
  const wEff = Math.max(wM, measuredW);
  const cold = modal.observable && modal.inputs === 0 && !modal.atCeiling;
  // Requests sent to containers still starting wait about a cold start, so what they may take is
  // bounded by in-flight: their slots not already filled by Modal's backlog, or probeInputs to wake
  // a tier with no container at all.
  const runners = modal.observable && sample ? sample.runners : 0;
  const startingSlots = Math.max(0, runners * inputs.modalMaxInputs - modal.inputs - (sample?.backlog ?? 0));
  const coldInFlight = runners === 0 ? (cold ? Math.max(0, cfg.probeInputs - (m?.inProgress ?? 0)) : 0) : startingSlots;
  const probeRps = modal.observable ? coldInFlight / (cfg.coldStartMs / 1000) : 0;
  const prewarm = prewarmNeed(inputs, policy, { lambda, lambdaFast, lambdaTrend, muTarget, w: wM, costCapped });
  // Containers pre-warm asks for in this decision count as coming already.
  const askedNow = cfg.prewarm.enabled && prewarm.nNeed > prev.prewarmMin && prewarm.nNeed > prewarm.base;
  const queue = modalQueueRoom(startingRunners, inputs, nowMs, policy, {
    asked: !cfg.prewarm.enabled ? 0 : askedNow ? prewarm.nNeed : prev.prewarmMin,
    askedAtMs: askedNow ? nowMs : prev.prewarmIncreasedAtMs,
    // Reports come about this far apart (in-flight in Modal changes only with them): the configured
    // interval when known (an early report, or several Envoys' spread reports, come closer), else as seen.
    horizonS: (inputs.reportIntervalMs ?? reportIntervalMs ?? 1000) / 1000,
    runners,
    // The stated service time: in-flight over rate would count the queue's own wait as service.
    w: wM,
    excessRps: Math.max(0, lambdaPlan - muTarget),
    usable: modal.observable && !costCapped,
  });
  const warmRps = costCapped ? 0 : modal.inputs / wEff + probeRps + queue.rps;
  // Modal's workspace rate limit is a second ceiling beside warm capacity: past it Modal answers 429.
  const rateLimit = inputs.modalRateLimitRps;
  const rateLimited = rateLimit !== undefined && warmRps > rateLimit;
  const modalRps = rateLimited ? rateLimit : warmRps;

  // 4. The split, in rates: Modal takes the excess over the in-house target up to what it can take;
  //    in-house takes the rest up to its maximum; what neither can take is shed at the edge.
  const excessUp = Math.max(0, lambdaPlan - muTarget);
  // Taken in once per new report, like the demand averages, and only over reports whose window had
  // in-house taking everything: while spilling or shedding there is none, and the first report after
  // starts it afresh (traffic coming back from Modal raises in-house in flight with demand unchanged).
  const inHouseInFlightAvg =
    reportAtMs === undefined || sameReport
      ? prev.inHouseInFlightAvg
      : acting
        ? null
        : firstReport || prev.inHouseInFlightAvg === null
          ? inHouseInFlight
          : ewma(prev.inHouseInFlightAvg, inHouseInFlight, avgDtMs, FOLLOW_UP_IN_FLIGHT_TAU_MS);
  const loadFollowUp = followUpFor({
    lambda,
    lambdaFast,
    lastReport: prev.lastReportRps,
    noise,
    inHouseInFlight,
    inHouseInFlightAvg: prev.inHouseInFlightAvg,
    inFlightJumped: corroborated,
    newReport,
    acting,
  });
  // Hysteresis: start when smoothed demand is clearly over the target — or at once on a step well
  // over both the target and the recent average; stop as soon as demand is back at the target.
  const startAt = muTarget * (1 + cfg.startMargin);
  // The smoothed demand must clear the start line by its own counting noise (an EWMA over τ of
  // Poisson arrivals has variance λ/2τ): at 50 rps that is ±2.2 rps, and a tier hovering just under
  // the line would otherwise cross it on noise and pay Modal for requests in-house could serve.
  // Reports without counts (noise 0) keep the bare line.
  // Just after the first report λ_fast is that one report, with its noise; the share of it left in
  // the average fades as e^(−t/τ), so its variance moves from the report's to the average's.
  const settledVar = Math.max(0, lambdaFast) / (2 * (cfg.fastWindowMs / 1000));
  const sinceS = demandSinceMs === null ? Infinity : Math.max(0, (reportAtMs ?? nowMs) - demandSinceMs) / 1000;
  const fromFirst = Math.exp((-2 * sinceS) / (cfg.fastWindowMs / 1000));
  const fastNoise = noise > 0 ? Math.sqrt(fromFirst * noise * noise + (1 - fromFirst) * settledVar) : 0;
  const startLine = startAt + CLEAR_NOISE_SIGMAS * fastNoise;
  const stepBase = Math.max(muTarget, lambdaFast);
  const step = lambda - stepBase > stepThreshold(stepBase, noise, riseSigmas);
  // A queue in the backends (a surge's first interval, before any report showed it) is drained, not
  // left full: while Envoy holds clearly more in-house requests than the fleet's slots at its maximum
  // utilization, in-house is allowed less than its maximum until the surplus is gone. Counted in
  // slots, not rate × service time: a max_rps fleet need not state a true service time. Capacity is
  // not lowered — the allowance is back at the maximum as soon as the queue is.
  // Only once the backends refused requests with the surplus in flight (LRS shows in-house errors),
  // and for QUEUE_MEMORY_MS after: in flight alone also counts long-lived requests (streams,
  // WebSockets), which are no queue. Never below half the maximum: a queue is drained over a few
  // reports, not by shedding everything at once.
  const inFlightAtMax = cfg.maxUtilization * Math.max(0, inputs.inHouseCapacity) * (inputs.capacityScaler ?? 1);
  const surplus = inHouseInFlight - inFlightAtMax;
  const surplusNow = surplus > QUEUE_TOLERANCE * inFlightAtMax;
  const queueOverflowAtMs = surplusNow && (inputs.inHouse?.errorRps ?? 0) > 0 ? nowMs : prev.queueOverflowAtMs;
  const queued = surplusNow && queueOverflowAtMs !== null && nowMs - queueOverflowAtMs <= QUEUE_MEMORY_MS ? surplus : 0;
  const inAllow = Math.max(inMax / 2, inMax - queued / QUEUE_DRAIN_S);
  // Demand over what in-house may take at most goes to Modal whenever Modal has room, hysteresis or
  // not: shedding it with Modal warm refused requests a tier could serve (the demo's ramp crossed the
  // in-house maximum before its 5 s average crossed the start line). A queue alone (demand within the
  // maximum) does not start spilling: one noisy second over capacity would pay Modal for it.
  const beyondInHouse = Math.max(0, lambdaPlan - inAllow);
  // Over a line means clearly over it: on a step (λplan is then the report itself, a 2.5 σ move, a
  // corroborated 1.5 σ one, or one that stays with such a step) the report; otherwise the smoothed demand by more than its counting noise, so a tier
  // hovering near the line is not spilled or shed on noise — with the lag an average has behind a
  // rising demand (slope × τ) added back, so on a ramp spilling starts before in-house is offered its
  // whole capacity. The band in-house absorbs never reaches past halfway from its maximum to its
  // whole capacity (at a few rps the noise is wider than that gap).
  const lagRps = Math.max(0, lambdaTrend) * (cfg.fastWindowMs / 1000);
  const bandCeiling = (inMax + muFull) / 2;
  const clearlyOver = (line: number, lag = lagRps): boolean =>
    planOnReport ? lambda > line : lambdaFast + lag > Math.min(line + CLEAR_NOISE_SIGMAS * fastNoise, Math.max(line, bandCeiling));
  const overMax = clearlyOver(inMax);
  // Stop once the excess is not clearly more than a sliver of the target: at the edge, Modal would
  // mostly get waste — and a spill a noisy report started ends when the average does not bear it out.
  // No lag on the stop line: a ramp that needs Modal is over the maximum (with its lag) anyway, and
  // the lag a step in demand leaves behind kept a spill running into the quieter seconds after it.
  const want = overMax || (spillingBefore ? clearlyOver(muTarget * (1 + STOP_MARGIN), 0) : lambdaFast > startLine || step);
  // No hold on the way down: λ_fast is already the smoothing, and holding a take above the current
  // excess sends Modal traffic the in-house tier could serve (paid waste, and a stale share).
  let modalTake = want ? Math.min(lambdaPlan, Math.max(excessUp, beyondInHouse), modalRps) : 0;
  const inHouseTake = Math.max(0, lambdaPlan - modalTake);
  const shedRps = cfg.shed && clearlyOver(inAllow) ? Math.max(0, inHouseTake - inAllow) : 0;
  let drop = lambdaPlan > 0 ? Math.ceil((100 * shedRps) / lambdaPlan) : 0;
  // Whole percents with a dead band: each change is an EDS push.
  const prevDrop = prevPlan?.dropPercent ?? 0;
  if (drop > 0 && Math.abs(drop - prevDrop) < DROP_DEAD_BAND) drop = prevDrop;

  // 5. Weights say how Envoy splits what it did not drop: Modal's weight is its take over that.
  const failSafe = !modal.observable && modal.inputs === 0;
  if (failSafe && cfg.unobservable === UnobservableMode.Zero) modalTake = 0;
  const passed = lambdaPlan * (1 - drop / 100);
  const share = modalTake > 0 && passed > 0 ? clamp(modalTake / passed, 0, 1) : 0;

  // 6. Publish: a dead band on weights; soft-cordon (DEGRADED) for a while when Modal is released.
  const published = shareOf(prevPlan);
  let drainStartedAtMs = prev.drainStartedAtMs;
  let plan: TrafficPlan;
  let mode: DefaultOutcome['mode'];
  let why: string;
  const need = `offered ${Math.round(lambda)} rps over in-house target ${Math.round(muTarget)} rps`;
  if (share > 0) {
    drainStartedAtMs = null;
    const capped = want && modalRps < excessUp;
    // A cap Modal's stats measure wins at once, even by a sliver; a decaying guess at an unobservable
    // Modal falls a little on every decision and goes out in dead-band steps.
    const keep = spillingBefore && Math.abs(share - published) < cfg.deadBand && !(capped && share < published && modal.observable);
    plan =
      keep && prevPlan
        ? { ...prevPlan, dropPercent: planForShare(0, ModalHealth.Healthy, drop).dropPercent }
        : planForShare(share, ModalHealth.Healthy, drop);
    mode = Mode.Spilling;
    const capNote = capped
      ? `; capped by Modal${rateLimited ? `'s rate limit ${rateLimit} rps` : ''} (excess ${Math.round(excessUp)} rps)`
      : '';

    why = `spilling ${pct(shareOf(plan))}: ${need}; Modal takes ${Math.round(modalTake)} rps; ${modal.note}${queue.note}${capNote}${keep ? ' (inside dead band, not republished)' : ''}`;
  } else if (published > 0 || (prevPlan?.modalWeight ?? 0) > 0) {
    // Soft-cordon: DEGRADED keeps Modal only as a fallback while its in-flight work drains.
    drainStartedAtMs ??= nowMs;
    const inFlight = m?.inProgress ?? 0;
    const drainedFor = nowMs - drainStartedAtMs;
    const done = failSafe || (drainedFor >= cfg.drainMs && (inFlight === 0 || drainedFor >= cfg.drainMaxMs));
    if (done) {
      plan = planForShare(0, ModalHealth.Healthy, drop);
      drainStartedAtMs = null;
      mode = failSafe ? Mode.FailSafe : Mode.InHouse;
      why = failSafe
        ? `fail-safe: ${modal.note}; Modal locality removed`
        : `drained: Modal locality removed after ${Math.round(drainedFor / 1000)} s (${inFlight} in flight)`;
    } else {
      plan = { ...planForShare(Math.max(published, 1e-3), ModalHealth.Degraded, drop), modalHealth: ModalHealth.Degraded };
      mode = Mode.Draining;
      why = `draining: Modal soft-cordoned (DEGRADED) for ${Math.round(drainedFor / 1000)} s (window ${Math.round(cfg.drainMs / 1000)} s), ${inFlight} in flight; offered ${Math.round(lambdaFast)} rps within in-house target ${Math.round(muTarget)} rps`;
    }
  } else {
    plan = planForShare(0, ModalHealth.Healthy, drop);
    mode = failSafe && excessUp > 0 ? Mode.FailSafe : Mode.InHouse;
    why =
      mode === Mode.FailSafe
        ? `fail-safe: ${need} but ${modal.note}; not spilling`
        : excessUp > 0 && want
          ? `in-house: ${need} but Modal can take nothing now (${modal.note})`
          : lambdaFast > muTarget
            ? `in-house: offered ${Math.round(lambda)} rps (average ${Math.round(lambdaFast)} ± ${fastNoise.toFixed(1)} rps) not clearly over the start line ${Math.round(startAt)} rps, in-house max ${Math.round(inMax)} rps`
            : `in-house: offered ${Math.round(lambda)} rps within in-house target ${Math.round(muTarget)} rps`;
  }
  if (plan.dropPercent > 0) {
    if (mode !== Mode.FailSafe) mode = Mode.Shedding;
    const modalPart = costCapped
      ? 'Modal cost-capped'
      : rateLimited
        ? `Modal at its rate limit ${rateLimit} rps`
        : cold && queue.rps === 0
          ? `Modal cold (probe ${probeRps.toFixed(1)} rps${queue.note})`
          : `Modal ${Math.round(modalRps)} rps`;
    const drainPart = queued > 0 ? ` (${Math.round(inAllow)} rps while ${Math.round(queued)} queued in-house drain)` : '';
    why = `shedding ${plan.dropPercent} %: offered ${Math.round(lambda)} rps over in-house max ${Math.round(inMax)} rps${drainPart} + ${modalPart}; ${why}`;
  }

  // 7. Pre-warm: min_containers for the excess predicted one cold start ahead (at once on a step);
  //    lowered to the need after the cool-down while spilling, released once demand is back under
  //    the in-house target.
  let autoscaler: AutoscalerIntent | undefined;
  let prewarmMin = prev.prewarmMin;
  let prewarmRaisedAtMs = prev.prewarmRaisedAtMs;
  let prewarmIncreasedAtMs = prev.prewarmIncreasedAtMs;
  if (cfg.prewarm.enabled) {
    const { base, excessRps, nNeed } = prewarm;
    // Demand clearly back under the in-house target (the report under the start line's mirror by
    // its counting noise), no spill and no excess ahead: released at once. Modal's own scaledown
    // window keeps the containers warm a while — warmth held through its autoscaler; a floor held on
    // top billed every container for the whole cool-down too. Near the target (pre-warm ahead of a
    // crossing, demand hovering) the cool-down still rules.
    const clearlyUnder = lambda + CLEAR_NOISE_SIGMAS * noise < muTarget * (1 - cfg.startMargin);
    const crowdOver = nNeed === 0 && share === 0 && clearlyUnder;
    if (nNeed >= prewarmMin && nNeed > base) {
      if (askedNow) prewarmIncreasedAtMs = nowMs;
      prewarmMin = nNeed;
      prewarmRaisedAtMs = nowMs;
    } else if (prewarmRaisedAtMs !== null && (crowdOver || nowMs - prewarmRaisedAtMs >= cfg.prewarm.cooldownMs)) {
      // Released in one step to what is needed now (or the base).
      prewarmMin = Math.max(base, nNeed);
      prewarmRaisedAtMs = prewarmMin > base ? nowMs : null;
    }
    prewarmMin = Math.max(prewarmMin, base);
    autoscaler = {
      minContainers: prewarmMin,
      reason:
        prewarmMin > base
          ? lambda >= muTarget
            ? `pre-warm: ${prewarmMin} containers for the ${Math.round(excessRps)} rps excess reported now`
            : `pre-warm: ${prewarmMin} containers for ${Math.round(excessRps)} rps excess predicted ${Math.round(cfg.prewarm.horizonMs / 1000)} s ahead`
          : `base: ${base} containers (no predicted excess)`,
    };
  }

  const state: DefaultState = {
    kind: 'default',
    lambdaFast,
    lambdaSlow,
    lambdaTrend,
    share,

    verifiedModalInputs: modal.observable ? modal.inputs : prev.verifiedModalInputs,
    verifiedAtMs: modal.observable && sample ? Math.max(sample.observedAtMs, prev.verifiedAtMs ?? -Infinity) : prev.verifiedAtMs,
    drainStartedAtMs,
    prewarmMin,
    prewarmRaisedAtMs,
    prewarmIncreasedAtMs,
    containerSeconds,
    startingRunners,
    queueOverflowAtMs,
    demandReportAtMs: reportAtMs ?? prev.demandReportAtMs,
    demandReportIntervalMs: reportIntervalMs,
    lastReportRps: reportAtMs !== undefined ? lambda : prev.lastReportRps,
    inHouseInFlightAvg,
    corroboratedReportAtMs: corroborated && reportAtMs !== undefined ? reportAtMs : newReport ? null : prev.corroboratedReportAtMs,
    stepRps: planOnReport ? lambda : null,
    demandSinceMs,
  };
  const readings: Record<string, InputReading> = {
    lambda_fast_rps: { value: Math.round(lambdaFast), ageMs: 0 },
    lambda_slow_rps: { value: Math.round(lambdaSlow), ageMs: 0 },
    planned_demand_rps: { value: Math.round(lambdaPlan), ageMs: 0 },
    in_house_target_rps: { value: Math.round(muTarget), ageMs: 0 },
    in_house_max_rps: { value: Math.round(inMax), ageMs: 0 },
    in_house_queued: { value: Math.round(queued), ageMs: 0 },
    modal_capacity_rps: { value: Math.round(modalRps), ageMs: sample ? nowMs - sample.observedAtMs : null },
    modal_take_rps: { value: Math.round(modalTake), ageMs: 0 },
    shed_rps: { value: Math.round(shedRps), ageMs: 0 },
  };
  if (rateLimit !== undefined) readings['modal_rate_limit_rps'] = { value: rateLimit, ageMs: 0 };
  return { plan, mode, reason: why, state, readings, ...(autoscaler ? { autoscaler } : {}), ...(loadFollowUp ? { loadFollowUp } : {}) };
}

/**
 * Whether to ask for the next load report sooner, on a new report, at the two turns where an
 * interval's wait costs most: up while nothing is spilled or shed (the start of an overflow), down
 * while something is (its end: paid or refused traffic to release). Up: the report's offered rate
 * rose from the previous report's by more than their noise (FOLLOW_UP_SIGMAS), or its in-house
 * in-flight gauge rose over its average (FOLLOW_UP_IN_FLIGHT_SIGMAS), which shows a step the counts
 * have barely begun to. Down: the offered rate fell likewise. Compared with the previous report, not
 * the demand average: after an overflow the average is still high while the reports are back down,
 * and a sustained rise asks once, not until the average has caught up.
 */
function followUpFor(o: {
  lambda: number;
  lambdaFast: number;
  /** The previous report's offered rate, if any. */
  lastReport: number | null;
  noise: number;
  /** In-house requests in flight in this report, and their average over the reports before it. */
  inHouseInFlight: number;
  inHouseInFlightAvg: number | null;
  /** …and whether it jumped over that average (read only while nothing is spilled or shed). */
  inFlightJumped: boolean;
  /** This decision sees a new report (after a known one). */
  newReport: boolean;
  /** Spilling (a soft-cordoned Modal in a drain takes nothing: not spilling) or shedding. */
  acting: boolean;
}): LoadFollowUp | undefined {
  // Asking again before the answer has come changes nothing: the LRS server (and the simulator)
  // never asks an Envoy whose early report is due (src/lrs/early-report.ts). With several Envoys the
  // sum moves on each one's report, so the time since the last one is no guide here.
  if (!o.newReport) return undefined;
  const next = `next report in ${FOLLOW_UP_AFTER_MS} ms`;
  const from = o.lastReport ?? o.lambdaFast;
  // The difference of two reports carries both their noises (taken as equal).
  const band = FOLLOW_UP_SIGMAS * Math.SQRT2 * o.noise;
  const moved = o.lambda - from;
  if (o.noise > 0 && (o.acting ? moved < -band : moved > band)) {
    return {
      afterMs: FOLLOW_UP_AFTER_MS,
      reason: `load report ${moved > 0 ? 'rose' : 'fell'} to ${Math.round(o.lambda)} rps from ${Math.round(from)} (noise ±${Math.round(o.noise)}): ${next}`,
    };
  }
  if (!o.inFlightJumped || o.inHouseInFlightAvg === null) return undefined;
  return {
    afterMs: FOLLOW_UP_AFTER_MS,
    reason: `in-house requests in flight rose to ${Math.round(o.inHouseInFlight)} from about ${o.inHouseInFlightAvg.toFixed(1)} (load report ${Math.round(o.lambda)} rps): ${next}`,
  };
}

/**
 * The rate the in-house fleet serves flat out: the sum of per-endpoint maximum rates where the
 * config gives them (Traffic Director's maxRatePerEndpoint), else slots over service time (Little's
 * law); times the capacity scaler (planned drains).
 */
export function inHouseRateRps(inputs: ControllerInputs, policy: CapacityPolicy): number {
  const bySlots = Math.max(0, inputs.inHouseCapacity) / (policy.inHouseServiceTimeMs / 1000);
  const full = inputs.inHouseMaxRps ?? bySlots;
  return full * (inputs.capacityScaler ?? 1);
}
