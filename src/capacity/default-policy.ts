// The default policy: feed-forward on offered demand (Little's law), capped by what Modal can
// serve now, fast up / slow down with a hold window and dead band, pre-warm ahead of the cold
// start, soft-cordon on the way down, deliberate shedding when both tiers are full.
// docs/capacity-model.md explains the control law and its terms.
import { UnobservableMode, type CapacityPolicy } from '../config/capacity-policy.js';
import { offeredRps } from '../model/inputs.js';
import { ModalHealth, planForShare, shareOf, type TrafficPlan } from '../model/traffic-plan.js';
import type { PolicyOutcome } from './seed-policy.js';
import { clamp, modalWarmInputs, pct } from './signals.js';
import { Mode, type AutoscalerIntent, type ControllerInputs, type DefaultState, type InputReading } from './types.js';

export interface DefaultOutcome extends PolicyOutcome<DefaultState> {
  autoscaler?: AutoscalerIntent;
  readings: Record<string, InputReading>;
}

export function initialDefaultState(): DefaultState {
  return {
    kind: 'default',
    lambdaFast: 0,
    lambdaSlow: 0,
    lambdaTrend: 0,
    trim: 0,
    share: 0,
    recentTargets: [],
    verifiedModalInputs: 0,
    verifiedAtMs: null,
    drainStartedAtMs: null,
    prewarmMin: 0,
    prewarmRaisedAtMs: null,
    containerSeconds: 0,
  };
}

const HOUR_MS = 3_600_000;
const ewma = (prev: number, x: number, dtMs: number, tauMs: number): number => prev + (1 - Math.exp(-dtMs / tauMs)) * (x - prev);

/** Modal capacity in inputs the policy may rely on now, and why. */
interface ModalView {
  inputs: number;
  observable: boolean;
  /** Modal cannot grow further (at max_containers): excess must be shed. */
  atCeiling: boolean;
  note: string;
}

function viewModal(s: DefaultState, inputs: ControllerInputs, nowMs: number, policy: CapacityPolicy): ModalView {
  const cfg = policy.default;
  const st = inputs.modalStats;
  const sample = st.last;
  const age = sample ? nowMs - sample.observedAtMs : Infinity;
  const fresh = sample !== undefined && age <= policy.staleAfterMs && st.consecutiveFailures < policy.failAfterErrors;
  if (fresh) {
    const warm = modalWarmInputs(sample, inputs.modalMaxInputs, inputs.modalMaxContainers, inputs.modal?.inProgress ?? 0);
    // Full only when every container Modal may run is up and warm: runners alone reach the
    // ceiling early in a scale-up while most are still cold-starting (a false "full").
    const atCeiling = sample.runners >= inputs.modalMaxContainers && warm >= (inputs.modalMaxContainers - 1) * inputs.modalMaxInputs;
    const head =
      sample.inputHeadroom !== undefined ? `headroom ${sample.inputHeadroom}` : `${sample.runners} runners, backlog ${sample.backlog}`;
    return { inputs: warm, observable: true, atCeiling, note: `Modal warm capacity ${Math.round(warm)} inputs (${head})` };
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

  // 1. Offered demand, fast and slow (KPA-like panic/stable windows), plus a trend for pre-warm.
  const lambda = offeredRps(inputs);
  const lambdaFast = first ? lambda : ewma(prev.lambdaFast, lambda, dtMs, cfg.fastWindowMs);
  const lambdaSlow = first ? lambda : ewma(prev.lambdaSlow, lambda, dtMs, cfg.slowWindowMs);
  const slope = dtS > 0 ? (lambdaFast - prev.lambdaFast) / dtS : 0;
  const lambdaTrend = first ? 0 : ewma(prev.lambdaTrend, slope, dtMs, cfg.fastWindowMs * 2);
  const lambdaUp = Math.max(lambdaFast, lambdaSlow);

  // 2. In-house budget by Little's law (slots / service time), with the trim learnt from L_in.
  const wIn = policy.inHouseServiceTimeMs / 1000;
  const wM = policy.modalServiceTimeMs / 1000;
  const cIn = Math.max(0, inputs.inHouseCapacity);
  const muFull = cIn / wIn;
  const muTarget = cfg.targetUtilization * muFull * (1 + prev.trim);

  // 3. What Modal can serve now (+ a bounded probe to wake a cold tier), and cost so far.
  const modal = viewModal(prev, inputs, nowMs, policy);
  const sample = inputs.modalStats.last;
  const runnersNow = modal.observable && sample ? sample.runners : 0;
  const containerSeconds = prev.containerSeconds * Math.exp(-dtMs / HOUR_MS) + runnersNow * dtS;
  const costCapped = cfg.costCapContainerSecondsPerHour !== null && containerSeconds >= cfg.costCapContainerSecondsPerHour;
  const cold = modal.observable && modal.inputs === 0 && !modal.atCeiling;
  const probe = cold ? cfg.probeInputs : 0;
  const warmRps = costCapped ? 0 : (modal.inputs + probe) / wM;
  // Modal's workspace rate limit is a second ceiling beside warm capacity: past it Modal answers 429.
  const rateLimit = inputs.modalRateLimitRps;
  const rateLimited = rateLimit !== undefined && warmRps > rateLimit;
  const modalRps = rateLimited ? rateLimit : warmRps;
  const cap = lambdaUp > 0 ? clamp(modalRps / lambdaUp, 0, 1) : 0;

  // 4. Target share from the excess over the in-house target; down uses the slow signal and the
  //    max of recent targets (HPA-style stabilisation), and the Modal cap always wins.
  const upRaw = lambdaUp > 0 ? Math.max(0, lambdaUp - muTarget) / lambdaUp : 0;
  const dnRaw = lambdaSlow > 0 ? Math.max(0, lambdaSlow - muTarget) / lambdaSlow : 0;
  const recentTargets = [...prev.recentTargets.filter((t) => nowMs - t.atMs < cfg.holdMs), { atMs: nowMs, share: dnRaw }];
  const held = recentTargets.reduce((m, t) => Math.max(m, t.share), 0);
  const stepS = first ? 1 : dtS;
  let share = prev.share;
  let movement: 'up' | 'hold' | 'down' | 'cap' | 'steady' = 'steady';
  // Moves must clear the dead band, or LRS noise would ratchet the share up (fast) and walk it
  // back down (slow) forever.
  if (Math.min(upRaw, cap) > share + (share > 0 ? cfg.deadBand : 0)) {
    share = Math.min(Math.min(upRaw, cap), share + cfg.slewUpPerS * stepS);
    movement = 'up';
  } else if (cap < share - (cap > 0 ? cfg.deadBand : 0)) {
    share = cap;
    movement = 'cap';
  } else {
    const down = Math.min(held, cap);
    if (down < share - cfg.deadBand || (down === 0 && share > 0)) {
      share = Math.max(down, share - cfg.slewDownPerS * stepS);
      movement = 'down';
    } else if (dnRaw < share) movement = 'hold';
  }
  if (share < 1e-4) share = 0;

  // 5. Trim μ*_in on measured concurrency. It only learns when the model says in-house should sit
  //    at target (spilling at the target share) or when in-house is over target unexpectedly; never while the
  //    share is held above target on the way down (in-house under target by design) nor while the
  //    Modal cap pins the share (anti-windup).
  const lIn = inputs.inHouse?.inProgress ?? 0;
  const err = cIn > 0 ? (lIn - cfg.targetUtilization * cIn) / cIn : 0;
  const pinned = upRaw > cap + 1e-9;
  const atTarget = upRaw > 0 && Math.abs(share - upRaw) <= cfg.deadBand;
  // Over target with no modelled excess means the model overrates in-house; over target while
  // an excess is modelled is a transient the feed-forward already covers.
  const trim =
    (atTarget || (err > 0 && upRaw === 0)) && !pinned && !first
      ? clamp(prev.trim - cfg.trimGain * err * dtS, -cfg.trimLimit, cfg.trimLimit)
      : prev.trim;

  // 6. Shed deliberately when both tiers are full: excess over in-house max + Modal at its ceiling.
  const modalFull = modal.atCeiling || costCapped || rateLimited;
  const inMax = cfg.maxUtilization * muFull * (1 + prev.trim);
  const excess = lambdaUp - inMax - modalRps;
  let drop = cfg.shed && modalFull && lambdaUp > 0 && excess > 0 ? Math.ceil((100 * excess) / lambdaUp) : 0;
  // Whole percents with a 2-point dead band: each change is an EDS push.
  const prevDrop = prevPlan?.dropPercent ?? 0;
  if (drop > 0 && prevDrop > 0 && Math.abs(drop - prevDrop) < 2) drop = prevDrop;

  // 7. Publish: dead band, soft-cordon on the way down, fail-safe removes at once.
  const published = shareOf(prevPlan);
  const failSafe = !modal.observable && modal.inputs === 0;
  let drainStartedAtMs = prev.drainStartedAtMs;
  let plan: TrafficPlan;
  let mode: DefaultOutcome['mode'];
  let why: string;
  const need = `offered ${Math.round(lambdaUp)} rps over in-house target ${Math.round(muTarget)} rps`;
  if (failSafe && published + share > 0 && cfg.unobservable === UnobservableMode.Zero) {
    share = 0;
  }
  if (share > 0) {
    drainStartedAtMs = null;
    const keep =
      published > 0 && prevPlan?.modalHealth === ModalHealth.Healthy && Math.abs(share - published) < cfg.deadBand && movement !== 'cap';
    plan =
      keep && prevPlan
        ? { ...prevPlan, dropPercent: planForShare(0, ModalHealth.Healthy, drop).dropPercent }
        : planForShare(share, ModalHealth.Healthy, drop);
    mode = Mode.Spilling;
    const capNote = pinned ? `; capped by Modal${rateLimited ? `'s rate limit ${rateLimit} rps` : ''} (needs ${pct(upRaw)})` : '';
    const mv =
      movement === 'hold'
        ? `; holding (demand eased, hold ${Math.round(cfg.holdMs / 1000)} s)`
        : movement === 'down'
          ? '; stepping down slowly'
          : '';
    why = `spilling ${pct(shareOf(plan))}: ${need}; ${modal.note}${capNote}${mv}${keep ? ' (inside dead band, not republished)' : ''}`;
  } else if (published > 0 || (prevPlan?.modalWeight ?? 0) > 0) {
    // Soft-cordon: DEGRADED keeps Modal only as a fallback while its in-flight work drains.
    drainStartedAtMs ??= nowMs;
    const inFlight = inputs.modal?.inProgress ?? 0;
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
      why = `draining: Modal soft-cordoned (DEGRADED) for ${Math.round(drainedFor / 1000)} s (window ${Math.round(cfg.drainMs / 1000)} s), ${inFlight} in flight; no excess (${Math.round(lambdaUp)} rps vs in-house target ${Math.round(muTarget)} rps)`;
    }
  } else {
    plan = planForShare(0, ModalHealth.Healthy, drop);
    mode = failSafe && upRaw > 0 ? Mode.FailSafe : Mode.InHouse;
    why =
      mode === Mode.FailSafe
        ? `fail-safe: ${need} but ${modal.note}; not spilling`
        : upRaw > 0
          ? `in-house: ${need} but Modal has no warm capacity yet (${modal.note})`
          : `in-house: offered ${Math.round(lambdaUp)} rps within in-house target ${Math.round(muTarget)} rps`;
  }
  if (plan.dropPercent > 0 && mode === Mode.FailSafe) {
    why = `${why}; shedding ${plan.dropPercent} % over in-house max ${Math.round(inMax)} rps`;
  } else if (plan.dropPercent > 0) {
    mode = Mode.Shedding;
    why = `shedding ${plan.dropPercent} %: offered ${Math.round(lambdaUp)} rps over in-house max ${Math.round(inMax)} rps + Modal ${costCapped ? 'cost-capped' : rateLimited ? 'at its rate limit' : 'full'} ${Math.round(modalRps)} rps; ${why}`;
  }

  // 8. Pre-warm: min_containers for the excess predicted one cold start ahead; release after cool-down.
  let autoscaler: AutoscalerIntent | undefined;
  let prewarmMin = prev.prewarmMin;
  let prewarmRaisedAtMs = prev.prewarmRaisedAtMs;
  if (cfg.prewarm.enabled) {
    const base = cfg.prewarm.baseMinContainers;
    // The trend extrapolation is bounded: a step makes the slope huge for a moment, and
    // min_containers is a floor Modal keeps (and bills) for the whole cool-down.
    const predicted = Math.min(1.2 * lambdaUp, Math.max(0, lambdaFast + Math.max(0, lambdaTrend) * (cfg.prewarm.horizonMs / 1000)));
    const excessRps = Math.max(0, Math.max(predicted, lambdaUp) - muTarget);
    const target = inputs.modalTargetInputs ?? inputs.modalMaxInputs;
    const budget = cfg.costCapContainerSecondsPerHour === null ? Infinity : costCapped ? base : inputs.modalMaxContainers;
    const nNeed = Math.min(inputs.modalMaxContainers, budget, Math.ceil((excessRps * wM) / Math.max(1, target)));
    if (nNeed >= prewarmMin && nNeed > base) {
      prewarmMin = nNeed;
      prewarmRaisedAtMs = nowMs;
    } else if (prewarmRaisedAtMs !== null && nowMs - prewarmRaisedAtMs >= cfg.prewarm.cooldownMs) {
      // Released in one step to what is needed now (or the base).
      prewarmMin = Math.max(base, nNeed);
      prewarmRaisedAtMs = prewarmMin > base ? nowMs : null;
    }
    prewarmMin = Math.max(prewarmMin, base);
    autoscaler = {
      minContainers: prewarmMin,
      reason:
        prewarmMin > base
          ? `pre-warm: ${prewarmMin} containers for ${Math.round(excessRps)} rps excess predicted ${Math.round(cfg.prewarm.horizonMs / 1000)} s ahead`
          : `base: ${base} containers (no predicted excess)`,
    };
  }

  const state: DefaultState = {
    kind: 'default',
    lambdaFast,
    lambdaSlow,
    lambdaTrend,
    trim,
    share,
    recentTargets,
    verifiedModalInputs: modal.observable ? modal.inputs : prev.verifiedModalInputs,
    verifiedAtMs: modal.observable && sample ? sample.observedAtMs : prev.verifiedAtMs,
    drainStartedAtMs,
    prewarmMin,
    prewarmRaisedAtMs,
    containerSeconds,
  };
  const readings: Record<string, InputReading> = {
    lambda_fast_rps: { value: Math.round(lambdaFast), ageMs: 0 },
    lambda_slow_rps: { value: Math.round(lambdaSlow), ageMs: 0 },
    in_house_target_rps: { value: Math.round(muTarget), ageMs: 0 },
    modal_capacity_rps: { value: Math.round(modalRps), ageMs: sample ? nowMs - sample.observedAtMs : null },
  };
  if (rateLimit !== undefined) readings['modal_rate_limit_rps'] = { value: rateLimit, ageMs: 0 };
  return { plan, mode, reason: why, state, readings, ...(autoscaler ? { autoscaler } : {}) };
}
