// Pure helpers both policies use: input ages, the readings a decision shows, Modal's warm capacity.
import { clamp, round1 } from '../core/numbers.js';
import { offeredRps, type ModalStatsSample } from '../model/inputs.js';
import type { ControllerInputs, InputReading } from './types.js';

export function ageMs(observedAtMs: number | undefined, nowMs: number): number | null {
  return observedAtMs === undefined ? null : Math.max(0, nowMs - observedAtMs);
}

/** Readings common to both policies, for the decision's `inputs`. */
export function baseReadings(inputs: ControllerInputs, nowMs: number): Record<string, InputReading> {
  const h = inputs.inHouse;
  const m = inputs.modal;
  const s = inputs.modalStats.last;
  const hAge = ageMs(h?.observedAtMs, nowMs);
  const mAge = ageMs(m?.observedAtMs, nowMs);
  const sAge = ageMs(s?.observedAtMs, nowMs);
  const r: Record<string, InputReading> = {
    offered_rps: { value: round1(offeredRps(inputs)), ageMs: maxAge(hAge, mAge, ageMs(inputs.drops?.observedAtMs, nowMs)) },
    // One σ of offered_rps's counting noise: what stepThreshold (default policy) measures a step in.
    offered_noise_rps: { value: round1(inputs.offeredNoiseRps ?? 0), ageMs: ageMs(inputs.drops?.observedAtMs, nowMs) },
    in_house_in_progress: { value: h?.inProgress ?? 0, ageMs: hAge },
    in_house_issued_rps: { value: round1(h?.issuedRps ?? 0), ageMs: hAge },
    in_house_capacity: { value: inputs.inHouseCapacity, ageMs: 0 },
    modal_in_progress: { value: m?.inProgress ?? 0, ageMs: mAge },
    modal_issued_rps: { value: round1(m?.issuedRps ?? 0), ageMs: mAge },
    modal_error_rps: { value: round1(m?.errorRps ?? 0), ageMs: mAge },
    dropped_rps: { value: round1(inputs.drops?.droppedRps ?? 0), ageMs: ageMs(inputs.drops?.observedAtMs, nowMs) },
    modal_runners: { value: s?.runners ?? 0, ageMs: sAge },
    modal_backlog: { value: s?.backlog ?? 0, ageMs: sAge },
    modal_poll_failures: { value: inputs.modalStats.consecutiveFailures, ageMs: ageMs(inputs.modalStats.lastAttemptAtMs, nowMs) },
  };
  if (s?.runningInputs !== undefined) r['modal_running_inputs'] = { value: s.runningInputs, ageMs: sAge };
  if (s?.inputHeadroom !== undefined) r['modal_input_headroom'] = { value: s.inputHeadroom, ageMs: sAge };
  return r;
}

function maxAge(...ages: (number | null)[]): number | null {
  const known = ages.filter((a): a is number => a !== null);
  return known.length === 0 ? null : Math.max(...known);
}

/**
 * Inputs Modal can hold right now (running + free), from the stats sample. Prefers Modal's own
 * input_headroom; otherwise live slots minus the backlog already waiting for them.
 */
export function modalWarmInputs(
  s: ModalStatsSample,
  maxInputs: number,
  maxContainers: number,
  modalInFlight: number,
  startingRunners: number,
): number {
  const ceiling = maxContainers * maxInputs;
  if (s.inputHeadroom !== undefined) {
    const running = s.runningInputs ?? modalInFlight;
    return clamp(running + s.inputHeadroom, 0, ceiling);
  }
  // Without headroom, runners alone: but a runner still cold-starting serves nothing yet, and every
  // runner of a tier waking from zero is one (counting them sent a step's spill into cold containers).
  return clamp((s.runners - startingRunners) * maxInputs - s.backlog, 0, ceiling);
}

export const pct = (share: number): string => `${Math.round(share * 1000) / 10} %`;
