// Composition root for the Modal side: the function lookups (retried with backoff while Modal's API
// cannot be reached), the stats poller and the autoscaler actuator. Nothing here waits for Modal:
// each function joins the poller and the actuator when it is found, and until then its feed says so.
import type { Clock } from '../core/clock.js';
import { Listeners } from '../core/listeners.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Cancel, Scheduler } from '../core/scheduler.js';
import { ModalAutoscalerActuator, type AutoscalerCallEvent } from './autoscaler-actuator.js';
import type { BackoffPolicy } from './backoff.js';
import { FunctionLookup, type LookupStatus } from './function-lookup.js';
import { connectModalSdk, type ModalSdkOptions } from './modal-sdk.js';
import { ModalStatsPoller, type ModalPollerStatus } from './stats-poller.js';
import type { ModalApi, ModalFunctionRef } from './types.js';

export interface ModalSideOptions {
  functions: readonly ModalFunctionRef[];
  clock: Clock;
  scheduler: Scheduler;
  logger?: Logger;
  /** Defaults to the official SDK (connectModalSdk(sdk)); tests may pass a stub. */
  api?: ModalApi;
  sdk?: ModalSdkOptions;
  poll?: { intervalMs?: number; timeoutMs?: number; backoff?: BackoffPolicy; random?: () => number };
  /** Function lookups: per-attempt timeout (default 15 s) and backoff between attempts. */
  lookup?: { timeoutMs?: number; backoff?: BackoffPolicy; random?: () => number };
  autoscaler?: { minIntervalMs?: number; reconcileIntervalMs?: number; callTimeoutMs?: number };
  /**
   * Leave the first lookups to startLookups(): loading the SDK and looking functions up costs CPU a
   * starting Spillway should spend on binding its ports first.
   */
  deferLookups?: boolean;
}

/** A service's Modal feed as readers see it: its function lookup until found, then its stats polling. */
export interface ModalFeedStatus extends ModalPollerStatus {
  /** False until the function was looked up: before that no stats can be polled. */
  lookedUp: boolean;
  /** Failed lookup attempts so far, while not looked up. */
  lookupFailures: number;
  /** A lookup attempt is under way (between attempts there is a retry delay instead). */
  lookupInFlight?: boolean;
}

/** What the controller, admin and metrics read of the Modal side. */
export interface ModalFeeds {
  services(): readonly string[];
  status(service: string): ModalFeedStatus | undefined;
  /** Called after every lookup attempt and every stats poll. */
  onStatus(fn: (status: ModalFeedStatus) => void): Cancel;
  /** Called after every call that reached Modal's autoscaler API (updates and read-backs). */
  onAutoscalerCall(fn: (event: AutoscalerCallEvent) => void): Cancel;
}

export interface ModalSide extends ModalFeeds {
  poller: ModalStatsPoller;
  actuator: ModalAutoscalerActuator;
  lookup: FunctionLookup;
  /** Starts the lookups (when deferLookups was set; otherwise they started with the side). */
  startLookups(): void;
  /**
   * Settles when every function has had its first lookup attempt: rejects with a ModalConfigError
   * naming each service whose answer was permanent (no credentials, unknown function).
   */
  firstLookups: Promise<void>;
  close(): void;
}

/** Lookups time out after this by default: an attempt is an auth call and a lookup, each retried by the SDK. */
export const DEFAULT_LOOKUP_TIMEOUT_MS = 15_000;

export function startModalSide(opts: ModalSideOptions): ModalSide {
  const logger = opts.logger ?? silentLogger;
  const log = logger.child({ component: 'modal' });
  const poller = new ModalStatsPoller({ handles: [], clock: opts.clock, scheduler: opts.scheduler, logger, ...opts.poll });
  const actuator = new ModalAutoscalerActuator([], { clock: opts.clock, scheduler: opts.scheduler, logger, ...opts.autoscaler });
  for (const ref of opts.functions) actuator.declare(ref.service);
  const listeners = new Listeners<[ModalFeedStatus]>();
  const lookup = new FunctionLookup({
    refs: opts.functions,
    connect: () => (opts.api ? Promise.resolve(opts.api) : connectModalSdk({ ...opts.sdk, logger })),
    clock: opts.clock,
    scheduler: opts.scheduler,
    logger,
    timeoutMs: opts.lookup?.timeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS,
    ...(opts.lookup?.backoff ? { backoff: opts.lookup.backoff } : {}),
    ...(opts.lookup?.random ? { random: opts.lookup.random } : {}),
    onFound: (handle) => {
      poller.add(handle);
      actuator.attach(handle);
      log.info({ service: handle.ref.service, functionId: handle.functionId }, 'Modal function looked up; stats polling started');
    },
  });
  const status = (service: string): ModalFeedStatus | undefined => {
    const l = lookup.status(service);
    if (!l) return undefined;
    const polled = l.found ? poller.status(service) : undefined;
    return polled ? { ...polled, lookedUp: true, lookupFailures: 0 } : pendingStatus(l);
  };
  const offs = [
    lookup.onStatus((l) => listeners.emit(status(l.service) ?? pendingStatus(l))),
    poller.onStatus((s) => listeners.emit(status(s.service) ?? { ...s, backoffCeilingMs: 0, lookedUp: true, lookupFailures: 0 })),
  ];
  poller.start();
  actuator.startReconciling();
  let started = false;
  const startLookups = (): void => {
    if (started) return;
    started = true;
    lookup.start();
  };
  if (!opts.deferLookups) startLookups();
  return {
    poller,
    actuator,
    lookup,
    startLookups,
    firstLookups: lookup.firstRound,
    services: () => opts.functions.map((f) => f.service),
    status,
    onStatus: (fn) => listeners.add(fn),
    onAutoscalerCall: (fn) => actuator.onCall(fn),
    close() {
      for (const off of offs) off();
      listeners.clear();
      poller.stop();
      actuator.close();
      lookup.close();
      // A stub API handed in is closed too: the side owns the connection it was given.
      if (opts.api && !lookup.connection()) opts.api.close();
    },
  };
}

/**
 * The feed of a service whose function is not looked up yet. Failed lookups count as failed polls:
 * Modal cannot be observed either way, and the policy's fail-safe keys on that count.
 */
function pendingStatus(l: LookupStatus): ModalFeedStatus {
  const why = l.lastError ? `: ${l.lastError}` : l.attempts > 0 ? ' (first attempt in flight)' : '';
  return {
    service: l.service,
    consecutiveFailures: l.consecutiveFailures,
    lastError: `Modal function not looked up yet${why}`,
    ...(l.lastAttemptAtMs !== undefined ? { lastAttemptAtMs: l.lastAttemptAtMs } : {}),
    ...(l.nextAttemptAtMs !== undefined && l.lastAttemptAtMs !== undefined ? { nextDelayMs: l.nextAttemptAtMs - l.lastAttemptAtMs } : {}),
    backoffCeilingMs: l.backoffCeilingMs,
    lookedUp: false,
    lookupFailures: l.consecutiveFailures,
    lookupInFlight: l.attempts > l.consecutiveFailures,
  };
}
