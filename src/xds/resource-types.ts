// The resource types Spillway serves, typed by their type URL: the snapshot cache and the streams are
// generic over these, and the resource builders produce them.
import type { Cluster } from '../generated/envoy/config/cluster/v3/Cluster.js';
import type { ClusterLoadAssignment } from '../generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js';
import type { Listener } from '../generated/envoy/config/listener/v3/Listener.js';
import type { RouteConfiguration } from '../generated/envoy/config/route/v3/RouteConfiguration.js';
import { TypeUrl } from './type-urls.js';

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
