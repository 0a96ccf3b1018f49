// A Modal function handle whose autoscaler is the fake Modal's simulator: updates apply the way Modal
// applies them (unset fields keep their value, windows in whole seconds). Tests of the actuator and
// of the controller's intents share it.
import type { Clock } from '../../src/core/clock.js';
import type { Scheduler } from '../../src/core/scheduler.js';
import type { AutoscalerSettings, ModalFunctionHandle } from '../../src/modal/types.js';
import { AutoscalerSim } from '../../tools/fake-modal/autoscaler-sim.js';

export type SimHandle = ModalFunctionHandle & {
  /** Every update sent, read-backs ({}) included, with the time it was sent. */
  updates: Array<AutoscalerSettings & { atMs: number }>;
  /** Fails this many of the next updates with UNAVAILABLE. */
  failNext: number;
};

export function simHandle(sim: AutoscalerSim, clock: Clock, service = 'shop'): SimHandle {
  const handle: SimHandle = {
    ref: { service, appName: `${service}-app`, functionName: 'web' },
    functionId: 'fu-1',
    updates: [],
    failNext: 0,
    currentStats: () => Promise.reject(new Error('unused')),
    updateAutoscaler(s) {
      handle.updates.push({ ...s, atMs: clock.nowMs() });
      if (handle.failNext > 0) {
        handle.failNext--;
        return Promise.reject(new Error('UNAVAILABLE: update_autoscaler failed'));
      }
      const patch: Parameters<AutoscalerSim['updateSettings']>[0] = {};
      if (s.minContainers !== undefined) patch.minContainers = s.minContainers;
      if (s.maxContainers !== undefined) patch.maxContainers = s.maxContainers;
      if (s.bufferContainers !== undefined) patch.bufferContainers = s.bufferContainers;
      if (s.scaledownWindowMs !== undefined) patch.scaledownWindowMs = Math.trunc(s.scaledownWindowMs / 1000) * 1000;
      return Promise.resolve(sim.updateSettings(patch));
    },
  };
  return handle;
}

/** Updates that set min_containers (read-backs left out). */
export const minContainerUpdates = (h: SimHandle): Array<{ minContainers: number; atMs: number }> =>
  h.updates.flatMap((u) => (u.minContainers !== undefined ? [{ minContainers: u.minContainers, atMs: u.atMs }] : []));

export function autoscalerSim(clock: Clock & Scheduler): AutoscalerSim {
  return new AutoscalerSim(
    {
      mode: 'function',
      maxInputs: 2,
      targetInputs: 1,
      minContainers: 0,
      maxContainers: 5,
      bufferContainers: 0,
      scaledownWindowMs: 60_000,
      coldStartMs: 1_000,
    },
    clock,
    clock as Scheduler,
  );
}
