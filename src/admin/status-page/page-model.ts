// What the status page draws, mapped from the admin API's State (the same State WatchWeights
// streams, built from the same read model): per service the split, the decision and its reason,
// Modal, in-house and cordons; per Envoy its sync status. Pure; the page's script renders it as is.
import type { EnvoyNode } from '../../generated/spillway/admin/v1/EnvoyNode.js';
import type { ServiceState } from '../../generated/spillway/admin/v1/ServiceState.js';
import type { State } from '../../generated/spillway/admin/v1/State.js';

/** One point of the split chart: [unix ms, in-house, Modal, shed] (fractions of requests). */
export type SplitPoint = [number, number, number, number];

/** Live Modal cost, when the State carries it (the service's price times its containers). */
export interface CostView {
  dollarsPerHour: number;
  /** Since 00:00 UTC. */
  dollarsToday: number;
  dollarsSinceStart: number;
}

export interface ServiceView {
  name: string;
  /** in-house, spilling, draining, shedding, fail-safe, static, override. */
  mode: string;
  /** static, controller, override: who set the published plan. */
  source: string;
  reason: string;
  split: { inHouse: number; modal: number; shed: number };
  weights: { inHouse: number; modal: number; modalHealth: string; dropPercent: number };
  offeredRps: number;
  /** What the controller would do while an operator override is published. */
  decision: { mode: string; reason: string; modal: number } | null;
  override: { share: number; reason: string; expiresAtMs: number } | null;
  modal: {
    configured: boolean;
    /** Modal's stats are polled (the capacity controller drives the service). */
    polled: boolean;
    observed: boolean;
    containers: number;
    backlog: number;
    runningInputs: number | null;
    statsAgeMs: number | null;
    failures: number;
    lastError: string;
  };
  cost: CostView | null;
  inHouse: { utilization: number; capacity: number; endpoints: Array<{ endpoint: string; capacity: number; health: string }> };
  /** Measured by Envoy (LRS), per second; null before any report. */
  load: { inHouseRps: number; modalRps: number; shedRps: number } | null;
}

export interface EnvoyRow {
  node: string;
  cluster: string;
  replica: string;
  protocol: string;
  agent: string;
  /** Per xDS type: status and the version the Envoy runs. */
  types: Record<string, { status: string; version: string }>;
  /** The worst status over the types. */
  worst: string;
  lastAckMs: number | null;
  outOfSyncSinceMs: number | null;
  lastNack: { type: string; detail: string; atMs: number } | null;
}

export interface PageFrame {
  atMs: number;
  replica: string;
  cause: string;
  services: ServiceView[];
  envoys: { total: number; byStatus: Record<string, number>; rows: EnvoyRow[]; shown: number };
  /** The split now, per service: the chart appends it. */
  points: Record<string, SplitPoint>;
  /** The recent past, per service: only in the first frame of a connection. */
  history?: Record<string, SplitPoint[]>;
}

/** Envoys listed on the page, worst first; the counts cover them all. */
export const MAX_ENVOY_ROWS = 50;

const RANK: Record<string, number> = { ERROR: 0, STALE: 1, NOT_SENT: 2, SYNCED: 3 };

/** The input form of a generated message types doubles as number | string: they are numbers here. */
const num = (x: number | string | null | undefined): number => Number(x ?? 0);
const optNum = (x: number | string | null | undefined): number | null => (x === undefined || x === null ? null : Number(x));

const words = (enumName: string, prefix: string): string => enumName.replace(prefix, '').toLowerCase().replace(/_/g, '-');

/** Cost, when the admin State carries it for the service (a Modal endpoint with a price); null otherwise. */
export function costOf(s: ServiceState): CostView | null {
  const c = s.modal_cost;
  if (!c) return null;
  return { dollarsPerHour: num(c.dollars_per_hour), dollarsToday: num(c.dollars_today), dollarsSinceStart: num(c.dollars_since_start) };
}

export function serviceView(s: ServiceState): ServiceView {
  const sh = s.shares ?? { in_house: 1, modal: 0, dropped: 0 };
  const w = s.weights;
  const m = s.modal_stats;
  const d = s.decision;
  const load = s.load?.reported ? s.load : undefined;
  return {
    name: s.name ?? '',
    mode: words(String(s.service_mode ?? ''), 'MODE_'),
    source: String(s.source ?? '').toLowerCase(),
    reason: s.reason ?? '',
    split: { inHouse: num(sh.in_house), modal: num(sh.modal), shed: num(sh.dropped) },
    weights: {
      inHouse: num(w?.in_house),
      modal: num(w?.modal),
      modalHealth: String(w?.modal_endpoint_health ?? 'HEALTHY'),
      dropPercent: num(w?.drop_percent),
    },
    offeredRps: num(s.offered_rps),
    decision:
      s.override && d ? { mode: words(String(d.decision_mode ?? ''), 'MODE_'), reason: d.reason ?? '', modal: num(d.shares?.modal) } : null,
    override: s.override
      ? { share: num(s.override.share), reason: s.override.reason ?? '', expiresAtMs: num(s.override.expires_at_unix_ms) }
      : null,
    modal: {
      configured: num(s.weights?.modal) > 0 || s.controlled === true || m?.observed === true,
      polled: s.controlled === true,
      observed: m?.observed ?? false,
      containers: num(m?.runners),
      backlog: num(m?.backlog),
      runningInputs: optNum(m?.running_inputs),
      statsAgeMs: optNum(m?.age_ms),
      failures: num(m?.consecutive_failures),
      lastError: m?.last_error ?? '',
    },
    cost: costOf(s),
    inHouse: {
      utilization: num(s.in_house_utilization),
      capacity: num(s.in_house_capacity),
      endpoints: (s.in_house ?? []).map((e) => ({
        endpoint: e.endpoint ?? '',
        capacity: num(e.capacity),
        health: String(e.health ?? 'HEALTHY'),
      })),
    },
    load: load
      ? {
          inHouseRps: num(load.in_house?.issued_rps),
          modalRps: num(load.modal?.issued_rps),
          shedRps: num(load.dropped_rps),
        }
      : null,
  };
}

export function envoyRow(e: EnvoyNode): EnvoyRow {
  const types: Record<string, { status: string; version: string }> = {};
  let worst = 'SYNCED';
  let lastAck: number | null = null;
  let since: number | null = null;
  let lastNack: EnvoyRow['lastNack'] = null;
  for (const t of e.types ?? []) {
    const type = String(t.xds_type ?? '');
    const status = String(t.status ?? 'NOT_SENT');
    types[type] = { status, version: t.acked_version ?? '' };
    if ((RANK[status] ?? 3) < (RANK[worst] ?? 3)) worst = status;
    const acked = optNum(t.acked_at_unix_ms);
    if (acked !== null && (lastAck === null || acked > lastAck)) lastAck = acked;
    const unsynced = optNum(t.out_of_sync_since_unix_ms);
    if (unsynced !== null && (since === null || unsynced < since)) since = unsynced;
    const n = t.last_nack;
    if (n && (lastNack === null || num(n.at_unix_ms) > lastNack.atMs)) lastNack = { type, detail: n.detail ?? '', atMs: num(n.at_unix_ms) };
  }
  return {
    node: e.node_id ?? '',
    cluster: e.node_cluster ?? '',
    replica: e.replica ?? '',
    protocol: e.protocol === 'DELTA' ? 'delta' : 'sotw',
    agent: e.user_agent ?? '',
    types,
    worst,
    lastAckMs: lastAck,
    outOfSyncSinceMs: since,
    lastNack,
  };
}

export const pointOf = (atMs: number, s: ServiceView): SplitPoint => [atMs, s.split.inHouse, s.split.modal, s.split.shed];

export function pageFrame(state: State, history?: Record<string, SplitPoint[]>): PageFrame {
  const atMs = num(state.at_unix_ms);
  const services = (state.services ?? []).map(serviceView);
  const rows = (state.envoys ?? []).map(envoyRow);
  const byStatus: Record<string, number> = {};
  for (const r of rows) byStatus[r.worst] = (byStatus[r.worst] ?? 0) + 1;
  const shown = [...rows]
    .sort((a, b) => (RANK[a.worst] ?? 3) - (RANK[b.worst] ?? 3) || a.node.localeCompare(b.node))
    .slice(0, MAX_ENVOY_ROWS);
  const frame: PageFrame = {
    atMs,
    replica: state.replica_id ?? '',
    cause: words(String(state.state_cause ?? ''), 'CAUSE_'),
    services,
    envoys: { total: rows.length, byStatus, rows: shown, shown: shown.length },
    points: Object.fromEntries(services.map((s) => [s.name, pointOf(atMs, s)])),
  };
  if (history) frame.history = history;
  return frame;
}
