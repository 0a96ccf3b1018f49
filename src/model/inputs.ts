// The inputs the capacity model decides from. Producers (Modal poller, LRS server, config) write
// these; the model only reads them. Every value carries when it was observed so the model can judge age.

/** One observation of a Modal function's live state, from the stats API. */
export interface ModalStatsSample {
  /** Service name in Spillway's config that this function backs. */
  service: string;
  /** Containers (runners) currently live. SDK: FunctionStats.numTotalRunners. */
  runners: number;
  /** Inputs waiting for a container. SDK: FunctionStats.backlog. */
  backlog: number;
  /** Inputs currently executing; absent when the reply lacks num_running_inputs. */
  runningInputs?: number;
  /** Inputs the live containers can still accept; absent when the reply lacks input_headroom. */
  inputHeadroom?: number;
  /** When Spillway received the reply (ms since epoch, from the injected clock). */
  observedAtMs: number;
}

/** State of the stats feed for one service: the last good sample and how polling is going. */
export interface ModalStatsStatus {
  service: string;
  last?: ModalStatsSample;
  /** Consecutive failed polls since the last success. */
  consecutiveFailures: number;
  lastError?: string;
  /** What kind of failure lastError was (metrics count failures by it). */
  lastFailure?: ModalFailure;
  lastAttemptAtMs?: number;
}

/**
 * Why a call to Modal's API failed: rate limited (RESOURCE_EXHAUSTED: Modal is up, and asking
 * harder makes it worse), unavailable (unreachable, or Modal's side failed this time: UNAVAILABLE,
 * INTERNAL, UNKNOWN, DEADLINE_EXCEEDED, ABORTED, CANCELLED), timeout (Spillway's own per-call limit,
 * modal_api.timeout_ms, cut it), rejected (an answer that says the request itself is wrong: credentials,
 * permissions, an unknown function), other (anything else, e.g. an answer that does not decode).
 */
export const ModalFailure = {
  RateLimited: 'rate_limited',
  Unavailable: 'unavailable',
  Timeout: 'timeout',
  Rejected: 'rejected',
  Other: 'other',
} as const;
export type ModalFailure = (typeof ModalFailure)[keyof typeof ModalFailure];

/** Which of a service's two localities a load figure is about. */
export const LocalityKind = { InHouse: 'in-house', Modal: 'modal' } as const;
export type LocalityKind = (typeof LocalityKind)[keyof typeof LocalityKind];

/** Load on one locality of one service, aggregated over every Envoy reporting through LRS. */
export interface LocalityLoad {
  service: string;
  locality: LocalityKind;
  /** Requests in progress now (sum over Envoys of their latest gauge). */
  inProgress: number;
  /** Requests issued per second over the latest report windows. */
  issuedRps: number;
  successRps: number;
  errorRps: number;
  /** When the newest report that contributed was received. */
  observedAtMs: number;
}

/** Requests Envoy dropped for a service (circuit breaking, drop_overloads), per second. */
export interface ServiceDrops {
  service: string;
  droppedRps: number;
  byCategory: Readonly<Record<string, number>>;
  observedAtMs: number;
}

/**
 * Offered demand, rps: everything issued to both localities plus what Envoy dropped. It does not
 * move when the split moves, which is what makes it a sound control input (unlike in-house
 * utilization after diversion).
 */
export function offeredRps(load: {
  inHouse?: Pick<LocalityLoad, 'issuedRps'> | undefined;
  modal?: Pick<LocalityLoad, 'issuedRps'> | undefined;
  drops?: Pick<ServiceDrops, 'droppedRps'> | undefined;
}): number {
  return (load.inHouse?.issuedRps ?? 0) + (load.modal?.issuedRps ?? 0) + (load.drops?.droppedRps ?? 0);
}
