// Pure rendering for `spillway status`: one line per connected Envoy (like `istioctl proxy-status`),
// and one Envoy's detail with its resources from CSDS. JSON forms are stable objects for scripts.
import type { ClientConfig__Output } from '../generated/envoy/service/status/v3/ClientConfig.js';
import type { EnvoyNode__Output } from '../generated/spillway/admin/v1/EnvoyNode.js';
import type { State__Output } from '../generated/spillway/admin/v1/State.js';
import type { TypeSync__Output } from '../generated/spillway/admin/v1/TypeSync.js';
import { isKnownTypeUrl, shortType } from '../xds/type-urls.js';
import { fmtAge } from './render-watch.js';

const TYPES = ['CDS', 'EDS', 'LDS', 'RDS'] as const;

/** Versions are 16-hex content hashes: 8 characters tell them apart on a screen. */
export const shortVersion = (v: string): string => (v ? v.slice(0, 8) : '-');

const ago = (atMs: number | undefined, nowMs: number): string =>
  atMs === undefined ? 'never' : `${fmtAge(Math.max(0, nowMs - atMs))} ago`;

const typeOf = (e: EnvoyNode__Output, t: string): TypeSync__Output | undefined => e.types.find((x) => x.xds_type === t);

/** `SYNCED 3fd42342`: the status and the version the Envoy runs. */
function typeCell(t: TypeSync__Output | undefined): string {
  if (!t) return '-';
  return `${t.status} ${shortVersion(t.acked_version)}`;
}

function lastAck(e: EnvoyNode__Output): number | undefined {
  const times = e.types.map((t) => t.acked_at_unix_ms).filter((x): x is number => x !== undefined);
  return times.length > 0 ? Math.max(...times) : undefined;
}

function lastNack(e: EnvoyNode__Output): { type: string; detail: string; at: number } | undefined {
  let last: { type: string; detail: string; at: number } | undefined;
  for (const t of e.types) {
    const n = t.last_nack;
    if (n && (!last || n.at_unix_ms > last.at)) last = { type: t.xds_type, detail: n.detail, at: n.at_unix_ms };
  }
  return last;
}

const oneLine = (s: string, max: number): string => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** Columns padded to the widest cell; the last column is left ragged. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** One line per connected Envoy, by node id. */
export function renderStatusTable(state: State__Output, nowMs: number): string[] {
  if (state.envoys.length === 0) return [`no Envoy is connected to ${state.replica_id || 'this Spillway'}`];
  const header = ['NODE', 'CLUSTER', 'REPLICA', 'XDS', ...TYPES, 'LAST ACK', 'ENVOY', 'LAST NACK'];
  const rows = state.envoys.map((e) => {
    const nack = lastNack(e);
    return [
      e.node_id,
      e.node_cluster || '-',
      e.replica || '-',
      e.protocol === 'DELTA' ? 'delta' : 'sotw',
      ...TYPES.map((t) => typeCell(typeOf(e, t))),
      ago(lastAck(e), nowMs),
      e.user_agent.replace(/^envoy /, '') || '-',
      nack ? `${nack.type} ${ago(nack.at, nowMs)}: ${oneLine(nack.detail, 80)}` : '-',
    ];
  });
  return table([header, ...rows]);
}

/** The JSON for scripts: the replica that answered and every Envoy as the admin API reports it. */
export function statusJson(state: State__Output): object {
  return { replica_id: state.replica_id, at_unix_ms: state.at_unix_ms, envoys: state.envoys };
}

/** One Envoy in full: per type, then per resource (from CSDS). */
export function renderNodeDetail(e: EnvoyNode__Output, csds: ClientConfig__Output | undefined, nowMs: number): string[] {
  const lines = [
    `node ${e.node_id}  cluster ${e.node_cluster || '-'}  ${e.user_agent || 'unknown agent'}`,
    `replica ${e.replica || '-'}  ${e.protocol === 'DELTA' ? 'delta' : 'state-of-the-world'} ADS stream ${e.stream_id}, connected ${ago(e.connected_at_unix_ms, nowMs)}`,
    '',
  ];
  const typeRows = [['TYPE', 'STATUS', 'RUNS', 'SERVING', 'SENT', 'ACKED', 'PUBLISH→ACK', 'OUT OF SYNC']];
  for (const t of TYPES) {
    const s = typeOf(e, t);
    if (!s) continue;
    typeRows.push([
      t,
      s.status,
      shortVersion(s.acked_version),
      shortVersion(s.current_version),
      s.sent_version ? `${shortVersion(s.sent_version)} ${ago(s.sent_at_unix_ms, nowMs)}` : '-',
      ago(s.acked_at_unix_ms, nowMs),
      s.publish_to_ack_ms !== undefined ? fmtAge(s.publish_to_ack_ms) : '-',
      s.out_of_sync_since_unix_ms !== undefined ? `for ${fmtAge(Math.max(0, nowMs - s.out_of_sync_since_unix_ms))}` : '-',
    ]);
  }
  lines.push(...table(typeRows));
  for (const t of TYPES) {
    const n = typeOf(e, t)?.last_nack;
    if (n)
      lines.push(
        '',
        `last ${t} NACK ${ago(n.at_unix_ms, nowMs)} (rejected ${shortVersion(n.version)}):`,
        ...n.detail
          .trimEnd()
          .split('\n')
          .map((l) => `  ${l}`),
      );
  }
  if (csds) {
    lines.push('', 'resources (CSDS):');
    const rows = [['TYPE', 'NAME', 'STATUS', 'CLIENT', 'VERSION', 'UPDATED', 'ERROR']];
    for (const c of csds.generic_xds_configs) {
      rows.push([
        typeName(c.type_url),
        c.name,
        c.config_status,
        c.client_status,
        shortVersion(c.version_info),
        c.last_updated ? ago(timestampMs(c.last_updated), nowMs) : '-',
        c.error_state ? oneLine(c.error_state.details, 80) : '',
      ]);
    }
    lines.push(...table(rows).map((l) => `  ${l}`));
  }
  return lines;
}

/** The JSON for one Envoy: the admin API's view plus its resources from CSDS (contents left out). */
export function nodeJson(e: EnvoyNode__Output, csds: ClientConfig__Output | undefined): object {
  return {
    envoy: e,
    resources: (csds?.generic_xds_configs ?? []).map((c) => ({
      type: typeName(c.type_url),
      type_url: c.type_url,
      name: c.name,
      config_status: c.config_status,
      client_status: c.client_status,
      version_info: c.version_info,
      last_updated_unix_ms: c.last_updated ? timestampMs(c.last_updated) : null,
      error: c.error_state ? { details: c.error_state.details, version_info: c.error_state.version_info } : null,
    })),
  };
}

const typeName = (url: string): string => (isKnownTypeUrl(url) ? shortType(url) : url);

const timestampMs = (t: { seconds: string | number; nanos: number }): number => Number(t.seconds) * 1000 + Math.round(t.nanos / 1e6);
