import type { Cluster } from '../generated/envoy/config/cluster/v3/Cluster.js';
import type { ClusterLoadAssignment } from '../generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js';
import type { Listener } from '../generated/envoy/config/listener/v3/Listener.js';
import type { RouteConfiguration } from '../generated/envoy/config/route/v3/RouteConfiguration.js';
import type { ServiceConfig } from '../config/config-types.js';
import type { SpillwayProtos } from '../protos/load-protos.js';
import { TypeUrl } from '../xds/type-urls.js';
import { buildCluster } from './clusters.js';
import { buildLoadAssignment, type Cordons } from './endpoints.js';
import { buildListener } from './listeners.js';
import { buildRouteConfiguration } from './routes.js';
import { planForModalShare, type TrafficPlan } from './traffic-plan.js';

export interface ResourceTypeMap {
  [TypeUrl.Cluster]: Cluster;
  [TypeUrl.Endpoint]: ClusterLoadAssignment;
  [TypeUrl.Listener]: Listener;
  [TypeUrl.Route]: RouteConfiguration;
}

/** Everything Envoy should have, per type, sorted by name. */
export type DesiredResources = { readonly [K in TypeUrl]: readonly ResourceTypeMap[K][] };

/** The name a resource is known by in xDS. */
export function resourceName<K extends TypeUrl>(type: K, r: ResourceTypeMap[K]): string {
  switch (type) {
    case TypeUrl.Endpoint:
      return (r as ClusterLoadAssignment).cluster_name ?? '';
    default:
      return (r as Cluster | Listener | RouteConfiguration).name ?? '';
  }
}

export interface DesiredStateInputs {
  services: readonly ServiceConfig[];
  /** Per service; a service without a plan uses its configured static Modal share. */
  plans: ReadonlyMap<string, TrafficPlan>;
  /** Resolved Modal IP per service. */
  modalIps: ReadonlyMap<string, string>;
  /** Cordons per service. */
  cordons: ReadonlyMap<string, Cordons>;
}

const byName = <T>(name: (t: T) => string) => (a: T, b: T): number => name(a).localeCompare(name(b));

/** Pure and deterministic: the same inputs always give byte-identical resources. */
export function buildDesiredState(inputs: DesiredStateInputs, protos: SpillwayProtos): DesiredResources {
  const services = [...inputs.services].sort(byName((s) => s.name));
  return {
    [TypeUrl.Cluster]: services.map((s) => buildCluster(s, protos)),
    [TypeUrl.Endpoint]: services.map((s) =>
      buildLoadAssignment({
        service: s,
        plan: inputs.plans.get(s.name) ?? planForModalShare(s.modal?.staticShare ?? 0),
        modalIp: s.modal?.connectAddress ?? inputs.modalIps.get(s.name),
        cordons: inputs.cordons.get(s.name) ?? new Map(),
      }),
    ),
    [TypeUrl.Listener]: services.map((s) => buildListener(s, protos)),
    [TypeUrl.Route]: services.map((s) => buildRouteConfiguration(s)),
  };
}
