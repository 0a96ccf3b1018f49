import type { ControllerInputs } from '../../src/capacity/types.js';

export const T0 = 1_700_000_000_000;

export interface Scenario {
  /** Offered rps, split by share to Modal (default: all in-house). */
  offered?: number;
  modalShare?: number;
  inHouseInProgress?: number;
  /** In-house answers that were errors, rps (backends refusing: queue full). */
  inHouseErrorRps?: number;
  modalInProgress?: number;
  modalErrorRps?: number;
  dropped?: number;
  runners?: number;
  backlog?: number;
  runningInputs?: number;
  inputHeadroom?: number;
  failures?: number;
  /** Age of the Modal stats sample (ms) at `now`. */
  statsAgeMs?: number;
  capacity?: number;
  maxInputs?: number;
  maxContainers?: number;
  noStats?: boolean;
  /** Modal's workspace rate limit, rps (absent: none). */
  rateLimitRps?: number;
  requestDeadlineMs?: number;
  inHouseMaxRps?: number;
  capacityScaler?: number;
  /** Counting noise of the offered rate, rps (what LRS's Poisson counts allow; absent: exact). */
  offeredNoiseRps?: number;
}

/** Builds ControllerInputs observed `now`, with fresh LRS and a Modal sample of the given age. */
export function inputs(now: number, s: Scenario = {}): ControllerInputs {
  const offered = s.offered ?? 0;
  const share = s.modalShare ?? 0;
  const modalRps = offered * share;
  const inRps = offered - modalRps;
  const modalErr = s.modalErrorRps ?? 0;
  const base: ControllerInputs = {
    service: 'svc',
    inHouse: {
      service: 'svc',
      locality: 'in-house',
      // Little's law at 100 ms, but never over the fleet's slots: by default the backends queue nothing.
      inProgress: s.inHouseInProgress ?? Math.min(inRps * 0.1, s.capacity ?? 80),
      issuedRps: inRps,
      successRps: inRps - (s.inHouseErrorRps ?? 0),
      errorRps: s.inHouseErrorRps ?? 0,
      observedAtMs: now,
    },
    modal: {
      service: 'svc',
      locality: 'modal',
      inProgress: s.modalInProgress ?? modalRps * 0.13,
      issuedRps: modalRps,
      successRps: modalRps - modalErr,
      errorRps: modalErr,
      observedAtMs: now,
    },
    drops: { service: 'svc', droppedRps: s.dropped ?? 0, byCategory: {}, observedAtMs: now },
    ...(s.offeredNoiseRps !== undefined ? { offeredNoiseRps: s.offeredNoiseRps } : {}),
    modalStats: { service: 'svc', consecutiveFailures: s.failures ?? 0 },
    inHouseCapacity: s.capacity ?? 80,
    modalMaxInputs: s.maxInputs ?? 10,
    modalTargetInputs: 8,
    modalMaxContainers: s.maxContainers ?? 40,
    ...(s.rateLimitRps !== undefined ? { modalRateLimitRps: s.rateLimitRps } : {}),
    ...(s.requestDeadlineMs !== undefined ? { requestDeadlineMs: s.requestDeadlineMs } : {}),
    ...(s.inHouseMaxRps !== undefined ? { inHouseMaxRps: s.inHouseMaxRps } : {}),
    ...(s.capacityScaler !== undefined ? { capacityScaler: s.capacityScaler } : {}),
  };
  if (!s.noStats) {
    base.modalStats.last = {
      service: 'svc',
      runners: s.runners ?? 0,
      backlog: s.backlog ?? 0,
      ...(s.runningInputs !== undefined ? { runningInputs: s.runningInputs } : {}),
      ...(s.inputHeadroom !== undefined ? { inputHeadroom: s.inputHeadroom } : {}),
      observedAtMs: now - (s.statsAgeMs ?? 500),
    };
  }
  return base;
}

/** The same inputs with no load report from any Envoy (none connected yet, or every one cut off). */
export function silentInputs(now: number, s: Scenario = {}): ControllerInputs {
  const silent = inputs(now, s);
  delete silent.inHouse;
  delete silent.modal;
  delete silent.drops;
  return silent;
}
