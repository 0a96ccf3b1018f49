import type { ControllerInputs } from '../capacity/types.js';
import type { InHouseEndpoint, RouteConfig, ServiceConfig } from '../config/config-types.js';
import type { FleetHealth } from '../model/host-health.js';
import type { ModalStatsStatus } from '../model/inputs.js';
import type { LoadView } from '../lrs/load-view.js';
import { servingCapacity, servingMaxRps, type Cordons } from '../model/cordons.js';

export interface InputSources {
  load: LoadView;
  modalStatus: (service: string) => ModalStatsStatus | undefined;
  cordons: (service: string) => Cordons;
  /** The in-house endpoints in force (static and discovered); default: the static ones. */
  inHouse?: (service: string) => readonly InHouseEndpoint[];
  /** Which in-house hosts Envoy really sends to (LRS per-endpoint stats). */
  hostHealth?: (service: string) => FleetHealth;
  /** The interval Envoys are told to report at (lrs.interval_ms). */
  reportIntervalMs?: number;
}

/**
 * Gathers one service's controller inputs from the read models (LRS load, Modal stats, cordons, host
 * health). Capacity counts only endpoints that take new traffic: a cordoned host serves no new
 * requests, and a host Envoy is not sending to (ejected, failing health checks) serves none either.
 */
export function controllerInputsFor(service: ServiceConfig, src: InputSources): ControllerInputs | undefined {
  const modal = service.modal;
  if (!modal) return undefined;
  const load = src.load.service(service.name);
  const cordons = src.cordons(service.name);
  const endpoints = src.inHouse?.(service.name) ?? service.inHouse;
  const health = src.hostHealth?.(service.name);
  const inHouseCapacity = servingCapacity(endpoints, cordons, health);
  const maxRps = servingMaxRps(endpoints, cordons, health);
  const inHouse = load && load.localities['in-house'].reporters > 0 ? load.localities['in-house'] : undefined;
  const modalLoad = load && load.localities.modal.reporters > 0 ? load.localities.modal : undefined;
  return {
    service: service.name,
    ...(inHouse ? { inHouse } : {}),
    ...(modalLoad ? { modal: modalLoad } : {}),
    ...(load && load.reporters > 0 ? { drops: load.drops, offeredNoiseRps: load.offeredNoiseRps } : {}),
    modalStats: src.modalStatus(service.name) ?? { service: service.name, consecutiveFailures: 0 },
    inHouseCapacity,
    ...(maxRps !== undefined ? { inHouseMaxRps: maxRps } : {}),
    capacityScaler: service.capacityScaler,
    modalMaxInputs: modal.maxInputs,
    modalMaxContainers: modal.maxContainers,
    modalRateLimitRps: modal.rateLimit.rps,
    requestDeadlineMs: requestDeadlineMs(service.route),
    ...(src.reportIntervalMs !== undefined ? { reportIntervalMs: src.reportIntervalMs } : {}),
  };
}

/**
 * How long Envoy lets one request to the service wait (0: no limit): the shortest of the route's
 * timeout, each attempt's (a retry's per_try_timeout) and the idle timeout — a request waiting in
 * Modal's queue moves no bytes, so the idle timeout resets it too.
 */
export function requestDeadlineMs(route: RouteConfig): number {
  const limits = [route.timeoutMs, route.retry.perTryTimeoutMs, route.idleTimeoutMs].filter((ms) => ms > 0);
  return limits.length > 0 ? Math.min(...limits) : 0;
}
