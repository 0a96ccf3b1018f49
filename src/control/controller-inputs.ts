import type { ControllerInputs } from '../capacity/types.js';
import type { ServiceConfig } from '../config/config-types.js';
import type { ModalStatsStatus } from '../model/inputs.js';
import type { LoadView } from '../lrs/load-view.js';
import { servingCapacity, servingMaxRps, type Cordons } from '../model/cordons.js';

export interface InputSources {
  load: LoadView;
  modalStatus: (service: string) => ModalStatsStatus | undefined;
  cordons: (service: string) => Cordons;
}

/**
 * Gathers one service's controller inputs from the read models (LRS load, Modal stats, cordons).
 * Capacity counts only endpoints that take new traffic: a cordoned host serves no new requests.
 */
export function controllerInputsFor(service: ServiceConfig, src: InputSources): ControllerInputs | undefined {
  const modal = service.modal;
  if (!modal) return undefined;
  const load = src.load.service(service.name);
  const cordons = src.cordons(service.name);
  const inHouseCapacity = servingCapacity(service.inHouse, cordons);
  const maxRps = servingMaxRps(service.inHouse, cordons);
  const inHouse = load && load.localities['in-house'].reporters > 0 ? load.localities['in-house'] : undefined;
  const modalLoad = load && load.localities.modal.reporters > 0 ? load.localities.modal : undefined;
  return {
    service: service.name,
    ...(inHouse ? { inHouse } : {}),
    ...(modalLoad ? { modal: modalLoad } : {}),
    ...(load && load.reporters > 0 ? { drops: load.drops } : {}),
    modalStats: src.modalStatus(service.name) ?? { service: service.name, consecutiveFailures: 0 },
    inHouseCapacity,
    ...(maxRps !== undefined ? { inHouseMaxRps: maxRps } : {}),
    capacityScaler: service.capacityScaler,
    modalMaxInputs: modal.maxInputs,
    modalMaxContainers: modal.maxContainers,
    modalRateLimitRps: modal.rateLimit.rps,
  };
}
