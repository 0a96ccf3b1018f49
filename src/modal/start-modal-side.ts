// Composition root for the Modal side: look every configured function up once at start-up (so a
// missing credential or an unknown function stops Spillway with a message naming the service), then
// start the stats poller and hand back the autoscaler actuator.
import type { Clock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Scheduler } from '../core/scheduler.js';
import { ModalAutoscalerActuator } from './autoscaler-actuator.js';
import type { BackoffPolicy } from './backoff.js';
import { ModalConfigError } from './errors.js';
import { connectModalSdk, type ModalSdkOptions } from './modal-sdk.js';
import { ModalStatsPoller } from './stats-poller.js';
import type { ModalApi, ModalFunctionHandle, ModalFunctionRef } from './types.js';

export interface ModalSideOptions {
  functions: readonly ModalFunctionRef[];
  clock: Clock;
  scheduler: Scheduler;
  logger?: Logger;
  /** Defaults to the official SDK (connectModalSdk(sdk)); tests may pass a stub. */
  api?: ModalApi;
  sdk?: ModalSdkOptions;
  poll?: { intervalMs?: number; timeoutMs?: number; backoff?: BackoffPolicy; random?: () => number };
  autoscaler?: { minIntervalMs?: number; reconcileIntervalMs?: number };
}

export interface ModalSide {
  poller: ModalStatsPoller;
  actuator: ModalAutoscalerActuator;
  close(): void;
}

export async function startModalSide(opts: ModalSideOptions): Promise<ModalSide> {
  const logger = opts.logger ?? silentLogger;
  const api = opts.api ?? (await connectModalSdk({ ...opts.sdk, logger }));
  const results = await Promise.allSettled(opts.functions.map((ref) => api.lookup(ref)));
  const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [toConfigError(opts.functions[i], r.reason)] : []));
  if (failures.length > 0) {
    api.close();
    // Every broken service at once: fixing config one restart at a time is tedious.
    const first = failures[0] as ModalConfigError;
    if (failures.length === 1) throw first;
    throw new ModalConfigError(first.service, failures.map((f) => f.message).join('; '));
  }
  const handles = results.map((r) => (r as PromiseFulfilledResult<ModalFunctionHandle>).value);
  const poller = new ModalStatsPoller({
    handles,
    clock: opts.clock,
    scheduler: opts.scheduler,
    logger,
    ...opts.poll,
  });
  const actuator = new ModalAutoscalerActuator(handles, {
    clock: opts.clock,
    scheduler: opts.scheduler,
    logger,
    ...opts.autoscaler,
  });
  poller.start();
  actuator.startReconciling();
  logger.info({ component: 'modal', services: handles.map((h) => h.ref.service) }, 'modal stats polling started');
  return {
    poller,
    actuator,
    close() {
      poller.stop();
      actuator.close();
      api.close();
    },
  };
}

function toConfigError(ref: ModalFunctionRef | undefined, reason: unknown): ModalConfigError {
  if (reason instanceof ModalConfigError) return reason;
  const service = ref?.service ?? '?';
  return new ModalConfigError(service, reason instanceof Error ? reason.message : String(reason));
}
