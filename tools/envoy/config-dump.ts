// Reading what a real Envoy runs, from its admin /config_dump: tests, benchmarks and the demo all
// judge Spillway by this, so the reading lives in one place.

/** The admin JSON, as far as Spillway's tools read it. */
export interface ConfigDump {
  configs: Array<Record<string, unknown> & { '@type': string }>;
}

export interface RunningLocality {
  zone: string;
  weight: number;
  /** Health of the locality's first endpoint (the Modal locality has one). */
  health: string | undefined;
  endpoints: number;
}

/** The dynamic resource of a kind in a config dump, e.g. 'ClustersConfigDump' (read loosely, as JSON). */

export function dumpSection(dump: ConfigDump, kind: string): Record<string, any> | undefined {
  return dump.configs.find((c) => c['@type'].endsWith(kind));
}

interface DumpedCla {
  cluster_name?: string;
  endpoints?: Array<{ locality?: { zone?: string }; load_balancing_weight?: number; lb_endpoints?: Array<{ health_status?: string }> }>;
  policy?: { drop_overloads?: Array<{ drop_percentage?: { numerator?: number; denominator?: string } }> };
}

/** The ClusterLoadAssignment Envoy runs for a cluster (config_dump with ?include_eds), if any. */
export function loadAssignment(dump: ConfigDump, cluster: string): DumpedCla | undefined {
  const eds = dumpSection(dump, 'EndpointsConfigDump') as { dynamic_endpoint_configs?: Array<{ endpoint_config?: DumpedCla }> } | undefined;
  return eds?.dynamic_endpoint_configs?.find((c) => c.endpoint_config?.cluster_name === cluster)?.endpoint_config;
}

/** The localities Envoy runs for a cluster, by zone. */
export function runningLocalities(dump: ConfigDump, cluster: string): Map<string, RunningLocality> {
  const out = new Map<string, RunningLocality>();
  for (const l of loadAssignment(dump, cluster)?.endpoints ?? []) {
    const zone = l.locality?.zone ?? '';
    out.set(zone, {
      zone,
      weight: l.load_balancing_weight ?? 0,
      health: l.lb_endpoints?.[0]?.health_status,
      endpoints: l.lb_endpoints?.length ?? 0,
    });
  }
  return out;
}

/** One endpoint Envoy runs for a cluster. */
export interface RunningEndpoint {
  zone: string;
  /** "address:port", an IPv6 address in brackets. */
  endpoint: string;
  weight: number;
  health: string | undefined;
}

/** Every endpoint Envoy runs for a cluster, sorted by zone then endpoint. */
export function runningEndpoints(dump: ConfigDump, cluster: string): RunningEndpoint[] {
  type Lb = {
    endpoint?: { address?: { socket_address?: { address?: string; port_value?: number } } };
    load_balancing_weight?: number;
    health_status?: string;
  };
  const out: RunningEndpoint[] = [];
  for (const l of loadAssignment(dump, cluster)?.endpoints ?? []) {
    for (const e of (l.lb_endpoints ?? []) as Lb[]) {
      const sa = e.endpoint?.address?.socket_address;
      const address = sa?.address ?? '';
      out.push({
        zone: l.locality?.zone ?? '',
        endpoint: address.includes(':') ? `[${address}]:${sa?.port_value ?? 0}` : `${address}:${sa?.port_value ?? 0}`,
        weight: e.load_balancing_weight ?? 1,
        health: e.health_status,
      });
    }
  }
  return out.sort((a, b) => a.zone.localeCompare(b.zone) || a.endpoint.localeCompare(b.endpoint));
}

/** The Modal share Envoy's weights describe for a cluster (0 when the Modal locality is absent). */
export function runningModalShare(dump: ConfigDump, cluster: string): number {
  const l = runningLocalities(dump, cluster);
  const modal = l.get('modal')?.weight ?? 0;
  const total = [...l.values()].reduce((n, x) => n + x.weight, 0);
  return total > 0 ? modal / total : 0;
}

/** The drop percentage Envoy's assignment carries for a cluster (0 when none). */
export function runningDropPercent(dump: ConfigDump, cluster: string): number {
  const d = loadAssignment(dump, cluster)?.policy?.drop_overloads?.[0]?.drop_percentage;
  if (!d?.numerator) return 0;
  const per = d.denominator === 'MILLION' ? 10_000 : d.denominator === 'TEN_THOUSAND' ? 100 : 1;
  return d.numerator / per;
}

/** JSON with object keys sorted: Envoy prints protobuf maps (endpoint metadata) in no fixed order. */
export const canonicalJson = (v: unknown): string =>
  Array.isArray(v)
    ? `[${v.map(canonicalJson).join(',')}]`
    : v !== null && typeof v === 'object'
      ? `{${Object.keys(v)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
          .join(',')}}`
      : JSON.stringify(v);
