// The `in_house` section of a service: static endpoints, endpoint sources (DNS, SRV, files), and how
// Envoy health-checks, ejects and ramps the hosts. Every problem names its field path.
import { isIP } from 'node:net';
import type {
  EndpointSourceConfig,
  HealthCheckConfig,
  InHouseEndpoint,
  InHouseHealthConfig,
  OutlierDetectionConfig,
} from './config-types.js';
import { endpointKeyOf } from './endpoint-key.js';
import { describe, join, type Reader } from './reader.js';

const MAX_MS = 24 * 3600 * 1000;
const MAX_CAPACITY = 1_000_000;
/** A DNS name: labels of letters, digits, - and _ (SRV names start with _service._proto). */
const DNS_NAME_RE =
  /^(?=.{1,253}\.?$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$/;

export interface InHouseSection {
  inHouse: InHouseEndpoint[];
  inHouseHost?: string;
  inHouseSources: EndpointSourceConfig[];
  inHouseDefaultCapacity?: number;
  inHouseHealth: InHouseHealthConfig;
  capacityScaler: number;
}

const KNOWN = [
  'endpoints',
  'host',
  'capacity',
  'capacity_scaler',
  'dns',
  'srv',
  'files',
  'health_check',
  'probe',
  'outlier_detection',
  'slow_start_ms',
] as const;

export function parseInHouse(r: Reader, v: unknown, path: string): InHouseSection {
  const o = r.obj(v, path, KNOWN) ?? {};
  if (v === undefined || v === null) r.fail(path, 'is required');
  const inHouseHost = r.optStr(o, 'host', path);
  if (inHouseHost !== undefined && !/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:.]+\](:\d{1,5})?$/.test(inHouseHost))
    r.fail(join(path, 'host'), `must be a host name with an optional port, got "${inHouseHost}"`);
  const endpointsPath = join(path, 'endpoints');
  const rawEndpoints = r.list(o, 'endpoints', path, false);
  const inHouse = rawEndpoints.flatMap((e, i) => parseEndpoint(r, e, join(endpointsPath, i)) ?? []);
  const seen = new Set<string>();
  inHouse.forEach((e, i) => {
    const key = endpointKeyOf(e);
    if (seen.has(key)) r.fail(join(endpointsPath, i), `duplicate endpoint ${key}`);
    seen.add(key);
  });
  const defaultCapacity =
    o['capacity'] === undefined || o['capacity'] === null ? undefined : r.int(o, 'capacity', path, undefined, 1, MAX_CAPACITY);
  const sources: EndpointSourceConfig[] = [
    ...r.list(o, 'dns', path, false).flatMap((s, i) => parseDns(r, s, join(join(path, 'dns'), i), defaultCapacity) ?? []),
    ...r.list(o, 'srv', path, false).flatMap((s, i) => parseSrv(r, s, join(join(path, 'srv'), i)) ?? []),
    ...r.list(o, 'files', path, false).flatMap((s, i) => parseFile(r, s, join(join(path, 'files'), i)) ?? []),
  ];
  if (v !== undefined && v !== null && inHouse.length === 0 && sources.length === 0 && !r.errors.some((e) => e.startsWith(path))) {
    r.fail(endpointsPath, 'must list at least one endpoint (or in_house must name a dns, srv or files source)');
  }
  const health: InHouseHealthConfig = {
    slowStartMs: r.int(o, 'slow_start_ms', path, 0, 0, MAX_MS),
  };
  const hc = parseHealthCheck(r, o['health_check'], join(path, 'health_check'));
  if (hc) health.healthCheck = hc;
  // Spillway's own probe answers sooner than Envoy's checks by default: it only moves capacity.
  const probe = parseHealthCheck(r, o['probe'], join(path, 'probe'), { intervalMs: 1000, healthyThreshold: 1, unhealthyThreshold: 2 });
  if (probe) health.probe = probe;
  const od = parseOutlierDetection(r, o['outlier_detection'], join(path, 'outlier_detection'));
  if (od) health.outlierDetection = od;
  return {
    inHouse,
    ...(inHouseHost !== undefined ? { inHouseHost } : {}),
    inHouseSources: sources,
    ...(defaultCapacity !== undefined ? { inHouseDefaultCapacity: defaultCapacity } : {}),
    inHouseHealth: health,
    capacityScaler: r.num(o, 'capacity_scaler', path, 1, 0, 1),
  };
}

function parseEndpoint(r: Reader, v: unknown, path: string): InHouseEndpoint | undefined {
  const o = r.obj(v, path, ['address', 'port', 'capacity', 'max_rps']);
  if (!o) return undefined;
  const address = r.str(o, 'address', path);
  if (address && isIP(address) === 0) r.fail(join(path, 'address'), `must be an IP address (EDS endpoints are IPs), got "${address}"`);
  const maxRps = o['max_rps'] === undefined || o['max_rps'] === null ? undefined : r.num(o, 'max_rps', path, 1, 0.001, 10_000_000);
  return {
    address,
    port: r.int(o, 'port', path, undefined, 1, 65535),
    capacity: r.int(o, 'capacity', path, undefined, 1, MAX_CAPACITY),
    ...(maxRps !== undefined ? { maxRps } : {}),
  };
}

function dnsName(r: Reader, o: Record<string, unknown>, path: string): string {
  const name = r.str(o, 'name', path);
  if (name && !DNS_NAME_RE.test(name)) r.fail(join(path, 'name'), `must be a DNS name, got ${describe(name)}`);
  return name;
}

function optCapacity(r: Reader, o: Record<string, unknown>, path: string): number | undefined {
  return o['capacity'] === undefined || o['capacity'] === null ? undefined : r.int(o, 'capacity', path, undefined, 1, MAX_CAPACITY);
}

function parseDns(r: Reader, v: unknown, path: string, defaultCapacity: number | undefined): EndpointSourceConfig | undefined {
  const o = r.obj(v, path, ['name', 'port', 'family', 'capacity']);
  if (!o) return undefined;
  const capacity = optCapacity(r, o, path);
  if (capacity === undefined && defaultCapacity === undefined) {
    r.fail(join(path, 'capacity'), 'is required (or set the service default, in_house.capacity): A/AAAA records carry none');
  }
  return {
    kind: 'dns',
    name: dnsName(r, o, path),
    port: r.int(o, 'port', path, undefined, 1, 65535),
    family: r.oneOf(o, 'family', path, 'any', ['any', 'ipv4', 'ipv6'] as const),
    ...(capacity !== undefined ? { capacity } : {}),
  };
}

function parseSrv(r: Reader, v: unknown, path: string): EndpointSourceConfig | undefined {
  const o = r.obj(v, path, ['name', 'capacity']);
  if (!o) return undefined;
  const capacity = optCapacity(r, o, path);
  return { kind: 'srv', name: dnsName(r, o, path), ...(capacity !== undefined ? { capacity } : {}) };
}

function parseFile(r: Reader, v: unknown, path: string): EndpointSourceConfig | undefined {
  const o = r.obj(v, path, ['path', 'capacity']);
  if (!o) return undefined;
  const capacity = optCapacity(r, o, path);
  return { kind: 'file', path: r.str(o, 'path', path), ...(capacity !== undefined ? { capacity } : {}) };
}

type CheckDefaults = Pick<HealthCheckConfig, 'intervalMs' | 'healthyThreshold' | 'unhealthyThreshold'>;
const ENVOY_CHECK_DEFAULTS: CheckDefaults = { intervalMs: 5000, healthyThreshold: 2, unhealthyThreshold: 2 };

/** An HTTP check's settings: Envoy's `health_check` and Spillway's `probe` read alike. */
function parseHealthCheck(r: Reader, v: unknown, path: string, d: CheckDefaults = ENVOY_CHECK_DEFAULTS): HealthCheckConfig | undefined {
  if (v === undefined || v === null) return undefined;
  const o = r.obj(v, path, ['path', 'interval_ms', 'timeout_ms', 'healthy_threshold', 'unhealthy_threshold']);
  if (!o) return undefined;
  const hcPath = r.str(o, 'path', path, '/healthz');
  if (!hcPath.startsWith('/')) r.fail(join(path, 'path'), `must start with /, got "${hcPath}"`);
  const intervalMs = r.int(o, 'interval_ms', path, d.intervalMs, 100, 3_600_000);
  const timeoutMs = r.int(o, 'timeout_ms', path, Math.min(1000, intervalMs), 10, 600_000);
  return {
    path: hcPath,
    intervalMs,
    timeoutMs,
    healthyThreshold: r.int(o, 'healthy_threshold', path, d.healthyThreshold, 1, 100),
    unhealthyThreshold: r.int(o, 'unhealthy_threshold', path, d.unhealthyThreshold, 1, 100),
  };
}

function parseOutlierDetection(r: Reader, v: unknown, path: string): OutlierDetectionConfig | undefined {
  if (v === undefined || v === null) return undefined;
  const o = r.obj(v, path, [
    'consecutive_5xx',
    'consecutive_gateway_failure',
    'interval_ms',
    'base_ejection_time_ms',
    'max_ejection_percent',
  ]);
  if (!o) return undefined;
  return {
    consecutive5xx: r.int(o, 'consecutive_5xx', path, 5, 1, 1000),
    consecutiveGatewayFailure: r.int(o, 'consecutive_gateway_failure', path, 3, 1, 1000),
    intervalMs: r.int(o, 'interval_ms', path, 10_000, 100, 3_600_000),
    baseEjectionTimeMs: r.int(o, 'base_ejection_time_ms', path, 30_000, 100, MAX_MS),
    maxEjectionPercent: r.int(o, 'max_ejection_percent', path, 50, 1, 100),
  };
}
