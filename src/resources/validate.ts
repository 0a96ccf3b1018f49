import type { SpillwayProtos } from '../protos/load-protos.js';
import { ADS_ORDER, TypeUrl, shortType } from '../xds/type-urls.js';
import { unpackAny } from '../protos/any.js';
import { resourceName, type DesiredResources } from '../xds/resource-types.js';
import type { Any } from '../generated/google/protobuf/Any.js';

const UINT32_MAX = 0xffff_ffff;

/**
 * The route configuration an HCM filter config names. Decoding the HCM is most of a validation's
 * cost and listeners are built once per service config (desired-state.ts), so it is decoded once per
 * packed config object.
 */
const routeNames = new WeakMap<object, string | undefined>();
function rdsRouteName(protos: SpillwayProtos, typedConfig: Any | null | undefined): string | undefined {
  if (!typedConfig) return undefined;
  if (routeNames.has(typedConfig)) return routeNames.get(typedConfig);
  const hcm = unpackAny(protos, 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', typedConfig);
  const name = hcm?.rds?.route_config_name || undefined;
  routeNames.set(typedConfig, name);
  return name;
}

/**
 * Checks a desired state before it may be published. Envoy validates each resource alone; these are
 * the cross-resource rules and EDS rules whose violation would break traffic or get a NACK.
 * Returns the problems; empty means publishable.
 */
export function validateDesiredState(d: DesiredResources, protos: SpillwayProtos): string[] {
  const errors: string[] = [];
  const names = new Map<TypeUrl, Set<string>>();
  for (const t of ADS_ORDER) {
    const seen = new Set<string>();
    for (const r of d[t]) {
      const n = resourceName(t, r);
      if (!n) errors.push(`${shortType(t)}: resource without a name`);
      else if (seen.has(n)) errors.push(`${shortType(t)} ${n}: duplicate name`);
      seen.add(n);
    }
    names.set(t, seen);
  }
  const has = (t: TypeUrl, n: string): boolean => names.get(t)?.has(n) ?? false;

  for (const l of d[TypeUrl.Listener]) {
    for (const chain of l.filter_chains ?? []) {
      for (const f of chain.filters ?? []) {
        const rn = rdsRouteName(protos, f.typed_config);
        if (rn && !has(TypeUrl.Route, rn)) errors.push(`LDS ${l.name}: references route configuration "${rn}" that does not exist`);
      }
    }
  }
  for (const rc of d[TypeUrl.Route]) {
    for (const vh of rc.virtual_hosts ?? []) {
      for (const r of vh.routes ?? []) {
        const c = r.route?.cluster;
        if (c && !has(TypeUrl.Cluster, c)) errors.push(`RDS ${rc.name}: route references cluster "${c}" that does not exist`);
      }
    }
  }
  for (const c of d[TypeUrl.Cluster]) {
    const eds = c.eds_cluster_config?.service_name || c.name || '';
    if (c.type === 'EDS' && !has(TypeUrl.Endpoint, eds)) errors.push(`CDS ${c.name}: no ClusterLoadAssignment "${eds}"`);
  }
  for (const cla of d[TypeUrl.Endpoint]) {
    const where = `EDS ${cla.cluster_name}`;
    const sums = new Map<number, number>();
    const localities = new Set<string>();
    for (const [i, le] of (cla.endpoints ?? []).entries()) {
      const w = le.load_balancing_weight?.value;
      const prio = le.priority ?? 0;
      if (w === undefined || w === null || w < 1 || !Number.isInteger(w)) {
        errors.push(`${where}: endpoints[${i}] locality weight must be an integer ≥ 1, got ${w ?? 'none'}`);
      } else {
        sums.set(prio, (sums.get(prio) ?? 0) + w);
      }
      const key = `${prio}/${le.locality?.region ?? ''}/${le.locality?.zone ?? ''}/${le.locality?.sub_zone ?? ''}`;
      if (localities.has(key)) errors.push(`${where}: endpoints[${i}] duplicate locality ${key}`);
      localities.add(key);
      if ((le.lb_endpoints ?? []).length === 0) errors.push(`${where}: endpoints[${i}] has no endpoints`);
      for (const [j, e] of (le.lb_endpoints ?? []).entries()) {
        const ew = e.load_balancing_weight?.value;
        if (ew !== undefined && ew !== null && (ew < 1 || !Number.isInteger(ew))) {
          errors.push(`${where}: endpoints[${i}].lb_endpoints[${j}] weight must be an integer ≥ 1, got ${ew}`);
        }
      }
    }
    for (const [prio, sum] of sums) {
      if (sum > UINT32_MAX) errors.push(`${where}: locality weights at priority ${prio} sum to ${sum}, over uint32`);
    }
    for (const d of cla.policy?.drop_overloads ?? []) {
      const n = d.drop_percentage?.numerator ?? 0;
      if (d.drop_percentage?.denominator === 'MILLION' && (n < 0 || n > 1_000_000)) {
        errors.push(`${where}: drop_overloads ${d.category} numerator ${n} outside 0–1000000`);
      }
    }
  }
  return errors;
}
