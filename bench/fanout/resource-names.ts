// What an Envoy reads from CDS and LDS to decide its next subscriptions: the EDS service names of
// EDS clusters and the RDS route names of HTTP connection managers.
import { loadProtos } from '../../src/protos/load-protos.js';
import type { AnyView } from './ads-codec.js';

const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/** Anything carrying a packed resource: a SotW Any, or a delta Resource's `resource`. */
export type PackedResource = AnyView | null | undefined;

const bytesOf = (any: PackedResource): Buffer | undefined => (any && any.value ? Buffer.from(any.value) : undefined);

/** The cluster's name and, for EDS clusters, the ClusterLoadAssignment name Envoy subscribes to. */
export function clusterInfo(any: PackedResource): { name: string; edsName?: string } | undefined {
  const value = bytesOf(any);
  if (!value) return undefined;
  const c = loadProtos().protos.envoy.config.cluster.v3.Cluster.deserialize(value);
  if (c.type !== 'EDS') return { name: c.name };
  return { name: c.name, edsName: c.eds_cluster_config?.service_name || c.name };
}

/**
 * The listener's name and the route configurations its HTTP connection managers fetch over RDS.
 * A listener whose HCM cannot be decoded contributes its own name (the convention Spillway uses),
 * so the tool still subscribes to something sensible against an unusual server.
 */
export function listenerInfo(any: PackedResource): { name: string; routeNames: string[] } | undefined {
  const value = bytesOf(any);
  if (!value) return undefined;
  const { protos } = loadProtos();
  const l = protos.envoy.config.listener.v3.Listener.deserialize(value);
  const routeNames: string[] = [];
  let sawHcm = false;
  for (const chain of [...l.filter_chains, ...(l.default_filter_chain ? [l.default_filter_chain] : [])]) {
    for (const f of chain.filters) {
      const tc = f.typed_config;
      if (!tc || !('type_url' in tc) || tc.type_url !== HCM_TYPE) continue;
      sawHcm = true;
      const hcm = protos.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.deserialize(
        Buffer.from(tc.value),
      );
      const rn = hcm.rds?.route_config_name;
      if (rn) routeNames.push(rn);
    }
  }
  if (!sawHcm && l.name) routeNames.push(l.name);
  return { name: l.name, routeNames };
}
