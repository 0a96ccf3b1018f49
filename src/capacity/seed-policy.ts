// The seed policy: the gateway sidecar of seed 000, implemented faithfully as the baseline.
// Hysteresis on in-house utilization (start 0.85 / stop 0.60); Modal weight sized to Modal's free
// slots (runners × max_inputs − running) plus one container's warm-up allowance when cold; EWMA
// towards the target, snapped to 0 when the target is 0; full → 0 and shed; N poll errors → 0 (the
// stats poller owns retrying, with its own jittered backoff).
import { ModalHealth, planForShare, type TrafficPlan } from '../model/traffic-plan.js';
import type { CapacityPolicy } from '../config/capacity-policy.js';
import { clamp } from '../core/numbers.js';
import { pct } from './signals.js';
import { Mode, type ControllerInputs, type SeedState } from './types.js';

export interface PolicyOutcome<S> {
  plan: TrafficPlan;
  mode: Mode;
  reason: string;
  state: S;
}

export function initialSeedState(): SeedState {
  return { kind: 'seed', spilling: false, share: 0, lastBacklog: null, lastSampleAtMs: null };
}

/** Free Modal slots as the seed computes them, with the warm-up allowance when Modal is cold. */
export function seedFreeSlots(runners: number, runningInputs: number, maxInputs: number, warmupContainers: number): number {
  const free = Math.max(0, runners * maxInputs - runningInputs);
  return runners === 0 ? free + warmupContainers * maxInputs : free;
}

export function decideSeed(prev: SeedState, inputs: ControllerInputs, policy: CapacityPolicy): PolicyOutcome<SeedState> {
  const cfg = policy.seed;
  const capacity = Math.max(1, inputs.inHouseCapacity);
  const util = (inputs.inHouse?.inProgress ?? 0) / capacity;
  const utilTxt = `in-house utilization ${pct(util)}`;

  // Fail-safe: the seed will not route to a tier it cannot observe.
  const failures = inputs.modalStats.consecutiveFailures;
  if (failures >= policy.failAfterErrors) {
    return {
      plan: planForShare(0, ModalHealth.Healthy, 0),
      mode: Mode.FailSafe,
      reason: `fail-safe: ${failures} consecutive Modal stats poll errors (limit ${policy.failAfterErrors}); Modal weight forced to 0 (the poller keeps retrying with backoff)`,
      state: { ...prev, share: 0, spilling: false },
    };
  }

  // Hysteresis on utilization after diversion (the seed's control variable).
  let spilling = prev.spilling;
  if (!spilling && util >= cfg.startUtilization) spilling = true;
  else if (spilling && util < cfg.stopUtilization) spilling = false;

  const s = inputs.modalStats.last;
  const runners = s?.runners ?? 0;
  const running = s?.runningInputs ?? inputs.modal?.inProgress ?? 0;
  const backlog = s?.backlog ?? 0;
  const newSample = s !== undefined && s.observedAtMs !== prev.lastSampleAtMs;
  const backlogRising = newSample && prev.lastBacklog !== null && backlog > prev.lastBacklog && backlog > 0;
  const free = seedFreeSlots(runners, running, inputs.modalMaxInputs, cfg.warmupContainers);
  const atCeiling = runners >= inputs.modalMaxContainers && runners * inputs.modalMaxInputs - running <= 0;
  const full = atCeiling || backlogRising;
  const base = {
    ...prev,
    spilling,
    lastBacklog: s ? backlog : prev.lastBacklog,
    lastSampleAtMs: s ? s.observedAtMs : prev.lastSampleAtMs,
  };

  if (spilling && full) {
    // Shed what in-house cannot hold: the excess of in-flight over its slots.
    const drop = util > 1 ? 100 * (1 - 1 / util) : 0;
    const why = atCeiling
      ? `Modal at its ceiling (${runners}/${inputs.modalMaxContainers} containers, no free slot)`
      : `Modal backlog rising (${prev.lastBacklog} → ${backlog})`;
    return {
      plan: planForShare(0, ModalHealth.Healthy, drop),
      mode: Mode.Shedding,
      reason: `Modal full: ${why}; weight 0, shedding ${Math.round(drop)} % (${utilTxt})`,
      state: { ...base, share: 0 },
    };
  }

  // Weight ∝ slots: Modal's free slots against the in-house fleet's slots.
  const target = spilling ? free / (capacity + free) : 0;
  // Snap to 0 when the target is 0 (no lingering sliver); otherwise EWMA towards it.
  const share = target === 0 ? 0 : prev.share + cfg.smoothing * (target - prev.share);
  const plan = planForShare(clamp(share, 0, 1), ModalHealth.Healthy, 0);
  const reason = !spilling
    ? `in-house: ${utilTxt} (${prev.spilling ? `fell below stop ${cfg.stopUtilization}` : `below start ${cfg.startUtilization}`})`
    : `spilling ${pct(share)}: ${utilTxt} ≥ hysteresis band; Modal free ${free} slots` +
      (runners === 0 ? ` (cold: warm-up allowance ${cfg.warmupContainers} container)` : ` (${runners} runners, ${running} running)`);
  return { plan, mode: plan.modalWeight > 0 ? Mode.Spilling : Mode.InHouse, reason, state: { ...base, share } };
}
