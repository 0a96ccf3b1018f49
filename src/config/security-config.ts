// The security and input-bound parts of the config: TLS files (xDS/LRS, admin and metrics), the rule binding
// a node id to its client certificate, who may report load, and every limit on what one client may
// send. Each limit has a safe default and its YAML path (LIMIT_PATHS), which the status refusing a
// client names, so an operator sees which knob was hit.
import { describe, join, type Obj, type Reader } from './reader.js';

export interface TlsFilesConfig {
  certFile: string;
  keyFile: string;
  /** Clients must present a certificate signed by this CA; undefined = server-side TLS only. */
  clientCaFile?: string;
  /** Refuse the handshake without a client certificate (true by default when clientCaFile is set). */
  requireClientCert: boolean;
  /** The files are re-read this often; a changed, valid pair serves every new handshake. */
  reloadIntervalMs: number;
}

/** Which subject alternative names of a client certificate may carry the node's identity. */
export const SanKind = { Uri: 'uri', Dns: 'dns', Any: 'any' } as const;
export type SanKind = (typeof SanKind)[keyof typeof SanKind];

/**
 * A stream's node id is accepted when the client certificate has a SAN (of `san` kind) matching
 * `template` with `{node_id}` replaced by the node id; `*` in the template matches within one path
 * segment or DNS label.
 */
export interface NodeIdentityRule {
  san: SanKind;
  template: string;
}

export interface XdsLimits {
  maxMessageBytes: number;
  maxNamesPerSubscription: number;
  maxNameBytes: number;
  maxStreamsPerConnection: number;
  maxStreamsPerNode: number;
  maxNodeIdBytes: number;
  maxNonceBytes: number;
  maxVersionBytes: number;
  maxRequestsPerSecond: number;
  requestBurst: number;
  maxSendBufferBytes: number;
  /** A NACK's error_detail longer than this is cut before it is logged or kept (never refused). */
  maxErrorDetailBytes: number;
}

export interface LrsLimits {
  minReportIntervalMs: number;
  maxReportIntervalMs: number;
  /** Issued plus dropped requests per second one Envoy may report for one cluster. */
  maxRequestsPerSecond: number;
}

export interface AdminLimits {
  maxMessageBytes: number;
  maxReasonBytes: number;
  maxWatchers: number;
}

interface LimitSpec {
  key: string;
  def: number;
  min: number;
  max: number;
}

const MiB = 1024 * 1024;

const XDS_LIMITS: Record<keyof XdsLimits, LimitSpec> = {
  maxMessageBytes: { key: 'max_message_bytes', def: 4 * MiB, min: 1024, max: 256 * MiB },
  maxNamesPerSubscription: { key: 'max_names_per_subscription', def: 10_000, min: 1, max: 1_000_000 },
  maxNameBytes: { key: 'max_name_bytes', def: 1024, min: 16, max: 65_536 },
  maxStreamsPerConnection: { key: 'max_streams_per_connection', def: 100, min: 1, max: 100_000 },
  maxStreamsPerNode: { key: 'max_streams_per_node', def: 8, min: 1, max: 100_000 },
  maxNodeIdBytes: { key: 'max_node_id_bytes', def: 1024, min: 16, max: 65_536 },
  maxNonceBytes: { key: 'max_nonce_bytes', def: 256, min: 16, max: 65_536 },
  maxVersionBytes: { key: 'max_version_bytes', def: 256, min: 16, max: 65_536 },
  maxRequestsPerSecond: { key: 'max_requests_per_second', def: 100, min: 1, max: 1_000_000 },
  requestBurst: { key: 'request_burst', def: 200, min: 1, max: 1_000_000 },
  maxSendBufferBytes: { key: 'max_send_buffer_bytes', def: 8 * MiB, min: 1024, max: 1024 * MiB },
  maxErrorDetailBytes: { key: 'max_error_detail_bytes', def: 4096, min: 64, max: MiB },
};

const LRS_LIMITS: Record<keyof LrsLimits, LimitSpec> = {
  minReportIntervalMs: { key: 'min_report_interval_ms', def: 10, min: 1, max: 3_600_000 },
  maxReportIntervalMs: { key: 'max_report_interval_ms', def: 600_000, min: 1, max: 86_400_000 },
  maxRequestsPerSecond: { key: 'max_requests_per_second', def: 1_000_000, min: 1, max: 1_000_000_000 },
};

const ADMIN_LIMITS: Record<keyof AdminLimits, LimitSpec> = {
  maxMessageBytes: { key: 'max_message_bytes', def: 64 * 1024, min: 1024, max: 16 * MiB },
  maxReasonBytes: { key: 'max_reason_bytes', def: 256, min: 1, max: 65_536 },
  maxWatchers: { key: 'max_watchers', def: 64, min: 1, max: 100_000 },
};

const pathsOf = <K extends string>(section: string, specs: Record<K, LimitSpec>): Record<K, string> =>
  Object.fromEntries(Object.entries<LimitSpec>(specs).map(([name, s]) => [name, `${section}.limits.${s.key}`])) as Record<K, string>;

/** The YAML path of every limit: what a refusal names. */
export const LIMIT_PATHS = {
  xds: pathsOf('xds', XDS_LIMITS),
  lrs: pathsOf('lrs', LRS_LIMITS),
  admin: pathsOf('admin', ADMIN_LIMITS),
} as const;

/** The rule a node identity refusal names. */
export const NODE_IDENTITY_PATH = 'xds.node_identity';
/** The list an LRS refusal names. */
export const REPORTERS_PATH = 'lrs.reporters';

function readLimits<K extends string>(r: Reader, v: unknown, path: string, specs: Record<K, LimitSpec>): Record<K, number> {
  const entries = Object.entries<LimitSpec>(specs);
  const o =
    r.obj(
      v,
      path,
      entries.map(([, s]) => s.key),
    ) ?? {};
  return Object.fromEntries(entries.map(([name, s]) => [name, r.int(o, s.key, path, s.def, s.min, s.max)])) as Record<K, number>;
}

export function readXdsLimits(r: Reader, v: unknown): XdsLimits {
  return readLimits(r, v, 'xds.limits', XDS_LIMITS);
}

export function readLrsLimits(r: Reader, v: unknown): LrsLimits {
  const limits = readLimits(r, v, 'lrs.limits', LRS_LIMITS);
  if (limits.minReportIntervalMs > limits.maxReportIntervalMs) {
    r.fail(LIMIT_PATHS.lrs.minReportIntervalMs, `must not exceed ${LIMIT_PATHS.lrs.maxReportIntervalMs} (${limits.maxReportIntervalMs})`);
  }
  return limits;
}

export function readAdminLimits(r: Reader, v: unknown): AdminLimits {
  return readLimits(r, v, 'admin.limits', ADMIN_LIMITS);
}

/** An optional `tls:` block. Files are read at start-up (a missing one stops it, naming the field). */
export function readTls(r: Reader, v: unknown, path: string): TlsFilesConfig | undefined {
  if (v === undefined || v === null) return undefined;
  const o = r.obj(v, path, ['cert_file', 'key_file', 'client_ca_file', 'require_client_cert', 'reload_interval_ms']);
  if (!o) return undefined;
  const clientCaFile = r.optStr(o, 'client_ca_file', path);
  const requireClientCert = r.bool(o, 'require_client_cert', path, clientCaFile !== undefined);
  if (requireClientCert && clientCaFile === undefined) {
    r.fail(join(path, 'require_client_cert'), 'needs client_ca_file (the CA client certificates are verified against)');
  }
  return {
    certFile: r.str(o, 'cert_file', path),
    keyFile: r.str(o, 'key_file', path),
    ...(clientCaFile !== undefined ? { clientCaFile } : {}),
    requireClientCert,
    reloadIntervalMs: r.int(o, 'reload_interval_ms', path, 5000, 100, 3_600_000),
  };
}

/** `xds.node_identity`: only meaningful with client certificates (xds.tls.client_ca_file). */
export function readNodeIdentity(r: Reader, v: unknown, tls: TlsFilesConfig | undefined): NodeIdentityRule | undefined {
  if (v === undefined || v === null) return undefined;
  const o = r.obj(v, NODE_IDENTITY_PATH, ['san', 'template']);
  if (!o) return undefined;
  if (!tls?.clientCaFile) r.fail(NODE_IDENTITY_PATH, 'needs xds.tls.client_ca_file (a node is bound to its verified client certificate)');
  const template = r.str(o, 'template', NODE_IDENTITY_PATH, '{node_id}');
  if (!template.includes('{node_id}')) {
    r.fail(join(NODE_IDENTITY_PATH, 'template'), `must contain {node_id} (the node id's place in the SAN), got "${template}"`);
  }
  return { san: r.oneOf(o, 'san', NODE_IDENTITY_PATH, SanKind.Uri, Object.values(SanKind)), template };
}

/** `lrs.reporters`: node id patterns (glob `*`) that may report load. Default: any node. */
export function readReporters(r: Reader, o: Obj): string[] {
  if (o['reporters'] === undefined || o['reporters'] === null) return ['*'];
  const path = join('lrs', 'reporters');
  const list = r.list(o, 'reporters', 'lrs', false);
  if (Array.isArray(o['reporters']) && list.length === 0) r.fail(path, 'must list at least one node id pattern (use "*" for any)');
  return list.flatMap((p, i) => {
    if (typeof p !== 'string' || p.length === 0 || p.length > 1024) {
      r.fail(join(path, i), `must be a node id pattern (1–1024 characters, * matches any run), got ${describe(p)}`);
      return [];
    }
    return [p];
  });
}

const defaultsOf = <K extends string>(specs: Record<K, LimitSpec>): Record<K, number> =>
  Object.fromEntries(Object.entries<LimitSpec>(specs).map(([name, s]) => [name, s.def])) as Record<K, number>;

/** The limits with nothing configured (also what embedders and tests get by default). */
export const DEFAULT_XDS_LIMITS: Readonly<XdsLimits> = defaultsOf(XDS_LIMITS);
export const DEFAULT_LRS_LIMITS: Readonly<LrsLimits> = defaultsOf(LRS_LIMITS);
export const DEFAULT_ADMIN_LIMITS: Readonly<AdminLimits> = defaultsOf(ADMIN_LIMITS);
