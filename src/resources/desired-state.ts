import type { InHouseEndpoint, ServiceConfig } from '../config/config-types.js';
import type { Cluster } from '../generated/envoy/config/cluster/v3/Cluster.js';
import type { Listener } from '../generated/envoy/config/listener/v3/Listener.js';
import type { RouteConfiguration } from '../generated/envoy/config/route/v3/RouteConfiguration.js';
import type { SpillwayProtos } from '../protos/load-protos.js';
import type { DesiredResources } from '../xds/resource-types.js';
import { TypeUrl } from '../xds/type-urls.js';
import { buildClusters } from './clusters.js';
import type { Cordons } from '../model/cordons.js';
import { buildLoadAssignment } from './endpoints.js';
import { buildListener } from './listeners.js';
import { buildRouteConfiguration } from './routes.js';
import type { TrafficPlan } from '../model/traffic-plan.js';

export interface DesiredStateInputs {
  services: readonly ServiceConfig[];
  /** The plan in force per service (the publisher fills in the static plan where nothing decided). */
  planOf: (service: ServiceConfig) => TrafficPlan;
  /** Resolved Modal addresses per service (every A and AAAA record). */
  modalIps: ReadonlyMap<string, readonly string[]>;
  /** Cordons per service. */
  cordons: ReadonlyMap<string, Cordons>;
  /** The in-house endpoints in force per service (static merged with discovered); default: the static ones. */
  inHouseOf?: (service: ServiceConfig) => readonly InHouseEndpoint[];
  /** Envoy's healthy fraction of a service's in-house locality; default 1. */
  healthyFractionOf?: (service: ServiceConfig) => number;
}

const byName =
  <T>(name: (t: T) => string) =>
  (a: T, b: T): number =>
    name(a).localeCompare(name(b));

interface PerService {
  /** The service's cluster, and its upgrade twin when it has one (clusters.ts). */
  clusters: Cluster[];
  listener: Listener;
  route: RouteConfiguration;
}

/**
 * A service's Clusters, Listener and RouteConfiguration follow from its config alone, and a config
 * is never changed in place (a reload brings new objects): build them once per config, not on every
 * weight change. The same objects also let the snapshot encoder skip them (snapshot.ts).
 */
const perService = new WeakMap<ServiceConfig, PerService>();

function serviceResources(s: ServiceConfig, protos: SpillwayProtos): PerService {
  let r = perService.get(s);
  if (!r) {
    r = { clusters: buildClusters(s, protos), listener: buildListener(s, protos), route: buildRouteConfiguration(s, protos) };
    perService.set(s, r);
  }
  return r;
}

/** Pure and deterministic: the same inputs always give byte-identical resources. */
export function buildDesiredState(inputs: DesiredStateInputs, protos: SpillwayProtos): DesiredResources {
  const services = [...inputs.services].sort(byName((s) => s.name));
  return {
    [TypeUrl.Cluster]: services.flatMap((s) => serviceResources(s, protos).clusters),
    [TypeUrl.Endpoint]: services.map((s) =>
      buildLoadAssignment({
        service: s,
        plan: inputs.planOf(s),
        modalAddresses: s.modal?.connectAddress ? [s.modal.connectAddress] : (inputs.modalIps.get(s.name) ?? []),
        cordons: inputs.cordons.get(s.name) ?? new Map(),
        inHouse: inputs.inHouseOf?.(s) ?? s.inHouse,
        inHouseHealthyFraction: inputs.healthyFractionOf?.(s) ?? 1,
      }),
    ),
    [TypeUrl.Listener]: services.map((s) => serviceResources(s, protos).listener),
    [TypeUrl.Route]: services.map((s) => serviceResources(s, protos).route),
  };
}
