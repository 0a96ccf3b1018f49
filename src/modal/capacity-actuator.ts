// Fits ModalAutoscalerActuator to the capacity controller's AutoscalerActuator port, so the controller
// drives Modal's min_containers through the SDK without knowing about it.
import type { AutoscalerActuator, AutoscalerUpdate } from '../capacity/controller.js';
import type { AutoscalerSettings as ControllerSettings } from '../capacity/types.js';
import type { ModalAutoscalerActuator } from './autoscaler-actuator.js';

/**
 * The controller spaces its own updates, so give the ModalAutoscalerActuator a minIntervalMs no longer
 * than the controller's actuatorMinIntervalMs; a deferred update is reported as a failure so the
 * controller keeps its own record honest (the actuator still sends it when its window opens).
 */
export function capacityActuatorFor(actuator: ModalAutoscalerActuator): AutoscalerActuator {
  return {
    async apply(update: AutoscalerUpdate): Promise<ControllerSettings> {
      const r = await actuator.apply(update.service, { minContainers: update.minContainers });
      if (r.outcome === 'failed') throw new Error(r.error ?? 'Modal autoscaler update failed');
      if (r.outcome === 'deferred') throw new Error(`Modal autoscaler update deferred until ${r.deferredUntilMs ?? '?'}`);
      const current = r.current ?? {};
      const out: ControllerSettings = { minContainers: current.minContainers ?? update.minContainers };
      if (current.maxContainers !== undefined) out.maxContainers = current.maxContainers;
      if (current.bufferContainers !== undefined) out.bufferContainers = current.bufferContainers;
      if (current.scaledownWindowMs !== undefined) out.scaledownWindowMs = current.scaledownWindowMs;
      return out;
    },
  };
}
