import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { readCapacityPolicy, type CapacityPolicy } from './capacity-policy.js';
import { parseInHouse } from './parse-in-house.js';
import {
  MODAL_DEFAULT_PRICE_PER_CONTAINER_SECOND,
  MODAL_DEFAULT_RATE_LIMIT,
  StickyMode,
  SYSTEM_CA_BUNDLE,
  type HaConfig,
  type ModalRateLimit,
  type StickyConfig,
  type DiscoveryConfig,
  type ModalEndpointConfig,
  type RetryConfig,
  type RouteConfig,
  type ServiceConfig,
  type SpillwayConfig,
} from './config-types.js';
import { Reader, describe, join } from './reader.js';
import { readAdminLimits, readLrsLimits, readNodeIdentity, readReporters, readTls, readXdsLimits } from './security-config.js';

/** Every problem found in a configuration, each naming its field path. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export type ParseResult = { ok: true; config: SpillwayConfig } | { ok: false; errors: string[] };

const NAME_RE = /^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$/;
const RETRY_ON = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'http3-post-connect-failure',
]);

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

const MAX_MS = 24 * 3600 * 1000;

function parseRetry(r: Reader, v: unknown, path: string): RetryConfig {
  const o = r.obj(v, path, ['retry_on', 'num_retries', 'per_try_timeout_ms']) ?? {};
  const retryOn = r.list(o, 'retry_on', path, false).flatMap((c, i) => {
    if (typeof c !== 'string' || !RETRY_ON.has(c)) {
      r.fail(join(join(path, 'retry_on'), i), `unknown retry condition ${describe(c)} (expected one of: ${[...RETRY_ON].join(', ')})`);
      return [];
    }
    return [c];
  });
  const defaults = o['retry_on'] === undefined ? ['connect-failure', 'refused-stream', 'reset-before-request'] : retryOn;
  return {
    retryOn: defaults,
    numRetries: r.int(o, 'num_retries', path, 1, 0, 10),
    perTryTimeoutMs: r.int(o, 'per_try_timeout_ms', path, 0, 0, MAX_MS),
  };
}

function parseRoute(r: Reader, v: unknown, path: string): RouteConfig {
  const o = r.obj(v, path, ['timeout_ms', 'idle_timeout_ms', 'websocket', 'retry', 'sticky']) ?? {};
  return {
    timeoutMs: r.int(o, 'timeout_ms', path, 0, 0, MAX_MS),
    idleTimeoutMs: r.int(o, 'idle_timeout_ms', path, 300_000, 0, MAX_MS),
    websocket: r.bool(o, 'websocket', path, true),
    retry: parseRetry(r, o['retry'], join(path, 'retry')),
    sticky: parseSticky(r, o['sticky'], join(path, 'sticky')),
  };
}

/** HTTP header and cookie names: RFC 9110 token characters, lowercase for headers (HTTP/2 requires it). */
const HEADER_RE = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const COOKIE_RE = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** Modal's session key header: forwarded untouched, so it can never be the header Envoy writes pins into. */
const MODAL_SESSION_HEADER = 'modal-session-id';

function parseSticky(r: Reader, v: unknown, path: string): StickyConfig {
  const o = r.obj(v, path, ['mode', 'header', 'cookie']) ?? {};
  const cookiePath = join(path, 'cookie');
  const c = r.obj(o['cookie'], cookiePath, ['name', 'path', 'ttl_s']) ?? {};
  const header = r.str(o, 'header', path, 'x-spillway-upstream');
  const cookieName = r.str(c, 'name', cookiePath, 'spillway-upstream');
  const cookieAt = r.str(c, 'path', cookiePath, '/');
  if (header && !HEADER_RE.test(header)) r.fail(join(path, 'header'), `must be a lowercase HTTP header name, got "${header}"`);
  // Envoy overwrites the pin header in responses: the client's Modal session key would be replaced by an address.
  if (header === MODAL_SESSION_HEADER)
    r.fail(join(path, 'header'), `must not be ${MODAL_SESSION_HEADER}, which Envoy must forward to Modal untouched`);
  if (cookieName && !COOKIE_RE.test(cookieName))
    r.fail(join(cookiePath, 'name'), `must be a cookie name (token characters), got "${cookieName}"`);
  if (cookieAt && !cookieAt.startsWith('/')) r.fail(join(cookiePath, 'path'), `must start with "/", got "${cookieAt}"`);
  return {
    mode: r.oneOf(o, 'mode', path, StickyMode.Header, Object.values(StickyMode)),
    header,
    cookie: { name: cookieName, path: cookieAt, ttlS: r.int(c, 'ttl_s', cookiePath, 0, 0, 366 * 24 * 3600) },
  };
}

function parseRateLimit(r: Reader, v: unknown, path: string): ModalRateLimit {
  const o = r.obj(v, path, ['rps', 'burst']) ?? {};
  return {
    rps: r.num(o, 'rps', path, MODAL_DEFAULT_RATE_LIMIT.rps, 0.001, 1_000_000),
    burst: r.num(o, 'burst', path, MODAL_DEFAULT_RATE_LIMIT.burst, 1, 1000),
  };
}

function parseModal(r: Reader, v: unknown, path: string): ModalEndpointConfig | undefined {
  if (v === undefined || v === null) return undefined;
  const o = r.obj(v, path, [
    'url',
    'app',
    'function',
    'environment',
    'max_inputs',
    'max_containers',
    'ca_bundle',
    'connect_address',
    'share',
    'rate_limit',
    'retry_429_in_house',
    'price_per_container_second',
    'http2',
  ]);
  if (!o) return undefined;
  const url = r.str(o, 'url', path);
  let hostname = '';
  let port = 443;
  if (url) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      r.fail(join(path, 'url'), `must be an https:// URL, got "${url}"`);
    }
    if (parsed) {
      if (parsed.protocol !== 'https:')
        r.fail(join(path, 'url'), `must use https (Envoy reaches Modal over TLS), got "${parsed.protocol}"`);
      if (parsed.pathname !== '/' || parsed.search)
        r.fail(join(path, 'url'), 'must not have a path or query (the route forwards paths as they come)');
      hostname = parsed.hostname;
      if (isIP(hostname)) r.fail(join(path, 'url'), 'must name a host, not an IP (it is the TLS SNI and Host)');
      port = parsed.port ? Number(parsed.port) : 443;
      if (port === 0) r.fail(join(path, 'url'), 'must not use port 0');
    }
  }
  const connectAddress = r.optStr(o, 'connect_address', path);
  if (connectAddress && isIP(connectAddress) === 0) r.fail(join(path, 'connect_address'), `must be an IP address, got "${connectAddress}"`);
  const environment = r.optStr(o, 'environment', path);
  return {
    url,
    hostname,
    port,
    app: r.str(o, 'app', path),
    function: r.str(o, 'function', path),
    ...(environment ? { environment } : {}),
    maxInputs: r.int(o, 'max_inputs', path, 1, 1, 10_000),
    maxContainers: r.int(o, 'max_containers', path, undefined, 1, 100_000),
    caBundle: r.str(o, 'ca_bundle', path, SYSTEM_CA_BUNDLE),
    ...(connectAddress ? { connectAddress } : {}),
    staticShare: r.num(o, 'share', path, 0, 0, 1),
    rateLimit: parseRateLimit(r, o['rate_limit'], join(path, 'rate_limit')),
    retry429InHouse: r.bool(o, 'retry_429_in_house', path, true),
    pricePerContainerSecond: r.num(o, 'price_per_container_second', path, MODAL_DEFAULT_PRICE_PER_CONTAINER_SECOND, 0, 1),
    http2: r.bool(o, 'http2', path, true),
  };
}

function parseService(r: Reader, v: unknown, path: string): ServiceConfig | undefined {
  const o = r.obj(v, path, ['name', 'listener', 'route', 'in_house', 'modal', 'capacity']);
  if (!o) return undefined;
  const name = r.str(o, 'name', path);
  if (name && !NAME_RE.test(name)) r.fail(join(path, 'name'), `must be lowercase letters, digits, - or _ (at most 63), got "${name}"`);
  const inHouse = parseInHouse(r, o['in_house'], join(path, 'in_house'));
  const modal = parseModal(r, o['modal'], join(path, 'modal'));
  const capacity = parseCapacity(r, o['capacity'], join(path, 'capacity'), modal !== undefined);
  if (capacity && modal) costCapInContainerSeconds(r, capacity, modal.pricePerContainerSecond, join(path, 'capacity'));
  return {
    name,
    listener: r.hostPort(o['listener'], join(path, 'listener'), { host: '0.0.0.0', port: 0 }),
    route: parseRoute(r, o['route'], join(path, 'route')),
    ...inHouse,
    ...(modal ? { modal } : {}),
    ...(capacity ? { capacity } : {}),
  };
}

/**
 * The cost cap may be written in dollars per hour; the model caps container-seconds per hour, so
 * dollars convert at the service's price. Both forms at once is ambiguous and refused.
 */
function costCapInContainerSeconds(r: Reader, capacity: CapacityPolicy, price: number, path: string): void {
  const dollars = capacity.default.costCapDollarsPerHour;
  if (dollars === null) return;
  if (capacity.default.costCapContainerSecondsPerHour !== null) {
    r.fail(
      join(path, 'cost_cap_dollars_per_hour'),
      'set either cost_cap_dollars_per_hour or cost_cap_container_seconds_per_hour, not both',
    );
  } else if (price <= 0) {
    r.fail(
      join(path, 'cost_cap_dollars_per_hour'),
      'needs modal.price_per_container_second above 0 to convert dollars to container-seconds',
    );
  } else {
    capacity.default.costCapContainerSecondsPerHour = dollars / price;
  }
}

/** `policy: static` (or no Modal endpoint) means no controller; otherwise the capacity model's schema. */
function parseCapacity(r: Reader, v: unknown, path: string, hasModal: boolean): CapacityPolicy | undefined {
  const raw = v as Record<string, unknown> | undefined | null;
  if (raw && typeof raw === 'object' && raw['policy'] === 'static') {
    if (Object.keys(raw).length > 1) r.fail(path, 'policy static takes no other fields (the share is modal.share)');
    return undefined;
  }
  if (!hasModal) {
    if (v !== undefined && v !== null) r.fail(path, 'needs a modal endpoint to drive (remove it, or add modal)');
    return undefined;
  }
  return readCapacityPolicy(r, v, path);
}

/** `{ key: value }` when the value is set, else nothing (the config's optional fields are absent, not undefined). */
const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
const REPLICA_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** `ha:`: absent means a single process. Credentials are named by environment variable, never written in the file. */
function parseHa(r: Reader, v: unknown, env: NodeJS.ProcessEnv): HaConfig | undefined {
  if (v === undefined || v === null) return undefined;
  const o = r.obj(v, 'ha', ['etcd', 'prefix', 'lease_ttl_s', 'replica_id']);
  if (!o) return undefined;
  const etcdPath = 'ha.etcd';
  const e = r.obj(o['etcd'], etcdPath, ['endpoints', 'ca_file', 'cert_file', 'key_file', 'username', 'password_env']) ?? {};
  if (o['etcd'] === undefined || o['etcd'] === null) r.fail(etcdPath, 'is required (at least etcd.endpoints)');
  const endpoints = r.list(e, 'endpoints', etcdPath, o['etcd'] !== undefined && o['etcd'] !== null).flatMap((u, i) => {
    const p = join(join(etcdPath, 'endpoints'), i);
    if (typeof u !== 'string') {
      r.fail(p, `must be a URL like http://127.0.0.1:2379, got ${describe(u)}`);
      return [];
    }
    let url: URL | undefined;
    try {
      url = new URL(u);
    } catch {
      r.fail(p, `must be a URL like http://127.0.0.1:2379, got "${u}"`);
      return [];
    }
    const problem =
      url.protocol !== 'http:' && url.protocol !== 'https:'
        ? `must be http:// or https://, got "${url.protocol}"`
        : !url.port
          ? `must name a port (etcd's client port is usually 2379), got "${u}"`
          : url.pathname !== '/' || url.search || url.username
            ? `must be scheme://host:port only, got "${u}"`
            : undefined;
    if (problem) {
      r.fail(p, problem);
      return [];
    }
    return [`${url.protocol}//${url.host}`];
  });
  if (Array.isArray(e['endpoints']) && endpoints.length === 0 && e['endpoints'].length === 0) {
    r.fail(join(etcdPath, 'endpoints'), 'must list at least one etcd endpoint');
  }
  const schemes = new Set(endpoints.map((u) => u.slice(0, u.indexOf(':'))));
  if (schemes.size > 1) r.fail(join(etcdPath, 'endpoints'), 'must all use the same scheme (http or https)');
  const caFile = r.optStr(e, 'ca_file', etcdPath);
  const certFile = r.optStr(e, 'cert_file', etcdPath);
  const keyFile = r.optStr(e, 'key_file', etcdPath);
  if ((certFile === undefined) !== (keyFile === undefined)) {
    r.fail(join(etcdPath, certFile ? 'key_file' : 'cert_file'), 'cert_file and key_file go together (the client certificate and its key)');
  }
  if (certFile && !caFile) r.fail(join(etcdPath, 'ca_file'), "is required with cert_file (the CA that signed etcd's certificate)");
  const tls = caFile || certFile || keyFile;
  if (tls && schemes.has('http')) r.fail(join(etcdPath, 'endpoints'), 'must be https:// when ca_file, cert_file or key_file is set');
  const username = r.optStr(e, 'username', etcdPath);
  const passwordEnv = r.optStr(e, 'password_env', etcdPath);
  const password = passwordEnv ? env[passwordEnv] : undefined;
  if (passwordEnv && !password) r.fail(join(etcdPath, 'password_env'), `names ${passwordEnv}, which is not set or empty`);
  if (passwordEnv && !username) r.fail(join(etcdPath, 'username'), 'is required with password_env');
  if (username && !passwordEnv)
    r.fail(join(etcdPath, 'password_env'), 'is required with username (the environment variable holding the password)');

  const prefix = r.str(o, 'prefix', 'ha', '/spillway/default');
  if (prefix && !/^\/[^\s]*[^/\s]$/.test(prefix)) {
    r.fail('ha.prefix', `must start with "/", not end with "/" and hold no spaces, got "${prefix}"`);
  }
  const replicaId = r.optStr(o, 'replica_id', 'ha');
  if (replicaId && !REPLICA_ID_RE.test(replicaId)) {
    r.fail('ha.replica_id', `must be letters, digits, ".", "_" or "-" (at most 128), got "${replicaId}"`);
  }
  return {
    etcd: {
      endpoints,
      ...(tls ? { tls: { ...(caFile ? { caFile } : {}), ...(certFile ? { certFile } : {}), ...(keyFile ? { keyFile } : {}) } } : {}),
      ...(username && password ? { auth: { username, password } } : {}),
    },
    prefix,
    leaseTtlS: r.int(o, 'lease_ttl_s', 'ha', 5, 2, 60),
    ...(replicaId ? { replicaId } : {}),
  };
}

/** Validates an already-parsed YAML/JSON tree. Never throws: every problem is returned with its path. */
export function parseConfigObject(raw: unknown, env: NodeJS.ProcessEnv = {}): ParseResult {
  const r = new Reader();
  const top = r.obj(raw, '', ['xds', 'lrs', 'admin', 'metrics', 'controller', 'modal_api', 'discovery', 'state', 'ha', 'services']) ?? {};
  const xds = r.obj(top['xds'], 'xds', ['listen', 'max_connection_age_ms', 'tls', 'node_identity', 'limits']) ?? {};
  const lrs = r.obj(top['lrs'], 'lrs', ['interval_ms', 'reporters', 'limits']) ?? {};
  const admin = r.obj(top['admin'], 'admin', ['listen', 'token_env', 'read_token_env', 'tls', 'limits']) ?? {};
  const metrics = r.obj(top['metrics'], 'metrics', ['listen', 'tls']) ?? {};
  const controller = r.obj(top['controller'], 'controller', ['tick_ms']) ?? {};
  const modalApi =
    r.obj(top['modal_api'], 'modal_api', ['poll_interval_ms', 'timeout_ms', 'reconcile_interval_ms', 'autoscaler_min_interval_ms']) ?? {};
  const state = top['state'] === undefined || top['state'] === null ? undefined : (r.obj(top['state'], 'state', ['dir']) ?? {});
  const stateDir = state ? r.str(state, 'dir', 'state') : undefined;
  // The admin token itself never sits in the config file: the file names the variable holding it.
  const tokenEnv = r.optStr(admin, 'token_env', 'admin');
  const token = tokenEnv ? env[tokenEnv] : undefined;
  if (tokenEnv && !token) r.fail('admin.token_env', `names ${tokenEnv}, which is not set or empty`);
  const readTokenEnv = r.optStr(admin, 'read_token_env', 'admin');
  const readToken = readTokenEnv ? env[readTokenEnv] : undefined;
  if (readTokenEnv && !readToken) r.fail('admin.read_token_env', `names ${readTokenEnv}, which is not set or empty`);
  if (readToken && token && readToken === token) r.fail('admin.read_token_env', 'must hold a different token than admin.token_env');
  const xdsTls = readTls(r, xds['tls'], 'xds.tls');
  const rawServices = r.list(top, 'services', '', true);
  if (Array.isArray(top['services']) && rawServices.length === 0) r.fail('services', 'must list at least one service');
  const services = rawServices.flatMap((s, i) => parseService(r, s, join('services', i)) ?? []);

  const names = new Map<string, number>();
  const ports = new Map<string, number>();
  services.forEach((s, i) => {
    const prev = names.get(s.name);
    if (prev !== undefined) r.fail(`services[${i}].name`, `duplicate service name "${s.name}" (also services[${prev}])`);
    names.set(s.name, i);
    const where = `services[${i}].listener`;
    if (s.listener.port === 0) r.fail(where, 'is required ("host:port" Envoy listens on)');
    // Envoy listener addresses are IPs; a name would be NACKed.
    if (s.listener.port !== 0 && isIP(s.listener.host) === 0)
      r.fail(where, `must be an IP address and port, got host "${s.listener.host}"`);
    // A wildcard address takes the port on every address, so it collides with any other use of it.
    const wildcard = s.listener.host === '0.0.0.0' || s.listener.host === '::';
    for (const [key, other] of ports) {
      const [host, port] = [key.slice(0, key.lastIndexOf(':')), Number(key.slice(key.lastIndexOf(':') + 1))];
      const otherWildcard = host === '0.0.0.0' || host === '::';
      if (s.listener.port !== 0 && port === s.listener.port && (host === s.listener.host || wildcard || otherWildcard)) {
        r.fail(where, `port ${s.listener.host}:${s.listener.port} collides with services[${other}] (${key})`);
      }
    }
    ports.set(`${s.listener.host}:${s.listener.port}`, i);
  });

  const adminListen = r.hostPort(admin['listen'], 'admin.listen', { host: '127.0.0.1', port: 18081 });
  if (!isLoopback(adminListen.host) && !tokenEnv) {
    r.fail('admin.listen', `${adminListen.host} is reachable off this host: set admin.token_env so mutating admin calls need a token`);
  }

  const config: SpillwayConfig = {
    xds: {
      listen: r.hostPort(xds['listen'], 'xds.listen', { host: '127.0.0.1', port: 18000 }),
      maxConnectionAgeMs: r.int(xds, 'max_connection_age_ms', 'xds', 30 * 60_000, 0, MAX_MS),
      ...optional('tls', xdsTls),
      ...optional('nodeIdentity', readNodeIdentity(r, xds['node_identity'], xdsTls)),
      limits: readXdsLimits(r, xds['limits']),
    },
    lrs: {
      intervalMs: r.int(lrs, 'interval_ms', 'lrs', 1000, 100, 3_600_000),
      reporters: readReporters(r, lrs),
      limits: readLrsLimits(r, lrs['limits']),
    },
    admin: {
      listen: adminListen,
      ...(token && tokenEnv ? { token, tokenName: tokenEnv } : {}),
      ...(readToken && readTokenEnv ? { readToken, readTokenName: readTokenEnv } : {}),
      ...optional('tls', readTls(r, admin['tls'], 'admin.tls')),
      limits: readAdminLimits(r, admin['limits']),
    },
    metrics: {
      listen: r.hostPort(metrics['listen'], 'metrics.listen', { host: '127.0.0.1', port: 18082 }),
      ...optional('tls', readTls(r, metrics['tls'], 'metrics.tls')),
    },
    controller: { tickMs: r.int(controller, 'tick_ms', 'controller', 1000, 50, 60_000) },
    modalApi: {
      pollIntervalMs: r.int(modalApi, 'poll_interval_ms', 'modal_api', 2000, 100, 600_000),
      timeoutMs: r.int(modalApi, 'timeout_ms', 'modal_api', 5000, 100, 600_000),
      reconcileIntervalMs: r.int(modalApi, 'reconcile_interval_ms', 'modal_api', 30_000, 1000, 3_600_000),
      autoscalerMinIntervalMs: r.int(modalApi, 'autoscaler_min_interval_ms', 'modal_api', 10_000, 0, 3_600_000),
    },
    discovery: parseDiscovery(r, top['discovery'], 'discovery'),
    ...(stateDir ? { state: { dir: stateDir } } : {}),
    services,
  };
  const ha = parseHa(r, top['ha'], env);
  if (ha) config.ha = ha;
  if (ha && stateDir) r.fail('state', 'is for a single Spillway: replicas (ha) keep their operating state in etcd; remove one of them');
  return r.errors.length > 0 ? { ok: false, errors: r.errors } : { ok: true, config };
}

function parseDiscovery(r: Reader, v: unknown, path: string): DiscoveryConfig {
  const o = r.obj(v, path, ['dns_servers', 'dns_timeout_ms', 'min_ttl_ms', 'max_ttl_ms', 'grace_ms', 'file_poll_ms']) ?? {};
  const servers = r
    .list(o, 'dns_servers', path, false)
    .map((s, i) => r.hostPort(s, join(join(path, 'dns_servers'), i), { host: '', port: 0 }));
  servers.forEach((s, i) => {
    if (s.port === 0 || isIP(s.host) === 0)
      r.fail(join(join(path, 'dns_servers'), i), `must be "ip:port" of a DNS server, got "${s.host}:${s.port}"`);
  });
  const minTtlMs = r.int(o, 'min_ttl_ms', path, 5_000, 100, 3_600_000);
  const maxTtlMs = r.int(o, 'max_ttl_ms', path, 300_000, 100, 24 * 3_600_000);
  if (maxTtlMs < minTtlMs) r.fail(join(path, 'max_ttl_ms'), `must be at least min_ttl_ms (${minTtlMs}), got ${maxTtlMs}`);
  return {
    dnsServers: servers,
    dnsTimeoutMs: r.int(o, 'dns_timeout_ms', path, 2_000, 50, 60_000),
    minTtlMs,
    maxTtlMs,
    graceMs: r.int(o, 'grace_ms', path, 300_000, 0, MAX_MS),
    filePollMs: r.int(o, 'file_poll_ms', path, 5_000, 50, 3_600_000),
  };
}

/** Parses YAML text; a YAML syntax error is reported with its line like any other problem. */
export function parseConfigText(text: string, source = 'config', env: NodeJS.ProcessEnv = {}): ParseResult {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return { ok: false, errors: [`${source}: not valid YAML: ${msg}`] };
  }
  return parseConfigObject(raw, env);
}
