// Builds the admin API's State message from Spillway's read models. Pure: everything it reads comes
// through StateSources, so tests can hand it plain values and the same code serves GetState,
// WatchWeights and `spillway watch`.
import type { Decision as CapacityDecision, InputReading as CapacityInput } from '../capacity/types.js';
import type { ServiceConfig } from '../config/config-types.js';
import type { Decision } from '../generated/spillway/admin/v1/Decision.js';
import type { EnvoyNode } from '../generated/spillway/admin/v1/EnvoyNode.js';
import type { InputReading } from '../generated/spillway/admin/v1/InputReading.js';
import type { LocalityLoad } from '../generated/spillway/admin/v1/LocalityLoad.js';
import type { ModalStats } from '../generated/spillway/admin/v1/ModalStats.js';
import type { ServiceLoad as ServiceLoadMsg } from '../generated/spillway/admin/v1/ServiceLoad.js';
import type { ServiceState } from '../generated/spillway/admin/v1/ServiceState.js';
import type { Shares } from '../generated/spillway/admin/v1/Shares.js';
import type { State } from '../generated/spillway/admin/v1/State.js';
import type { TypeSync } from '../generated/spillway/admin/v1/TypeSync.js';
import type { Weights } from '../generated/spillway/admin/v1/Weights.js';
import type { LocalityLoadReading, ServiceLoad } from '../lrs/load-view.js';
import type { ModalPollerStatus } from '../modal/stats-poller.js';
import { endpointKey, servingCapacity, type CordonState } from '../resources/endpoints.js';
import type { TrafficPlan } from '../resources/traffic-plan.js';
import type { SyncStatusRow } from '../xds/sync-status.js';
import type { ActiveOverride } from '../app/override-store.js';
import type { PlanSource } from '../app/plan-router.js';

/** What happened to make a new State: shown by `spillway watch --plain`. */
export type StateCause = 'initial' | 'decision' | 'publish' | 'override' | 'cordon' | 'poll';

export interface StateSources {
  nowMs(): number;
  services(): readonly ServiceConfig[];
  /** The plan being published for the service now. */
  publishedPlan(service: string): TrafficPlan;
  source(service: string): PlanSource;
  /** The controller's latest decision (also while an override is published); undefined if uncontrolled. */
  decision(service: string): CapacityDecision | undefined;
  override(service: string): ActiveOverride | undefined;
  cordons(service: string): ReadonlyMap<string, CordonState>;
  modalStatus(service: string): ModalPollerStatus | undefined;
  load(service: string): ServiceLoad | undefined;
  syncRows(): readonly SyncStatusRow[];
  connectedStreams(): number;
  publisherStats(): { published: number; unchanged: number; rejected: number; lastErrors: readonly string[] };
}

export function buildState(src: StateSources, cause: StateCause, only?: string): State {
  const services = src.services().filter((s) => !only || s.name === only);
  const s = src.publisherStats();
  return {
    at_unix_ms: src.nowMs(),
    cause,
    services: services.map((svc) => buildServiceState(src, svc)),
    envoys: envoysOf(src.syncRows()),
    publisher: { published: s.published, unchanged: s.unchanged, rejected: s.rejected, last_errors: [...s.lastErrors] },
    connected_streams: src.connectedStreams(),
  };
}

export function buildServiceState(src: StateSources, svc: ServiceConfig): ServiceState {
  const now = src.nowMs();
  const plan = src.publishedPlan(svc.name);
  const source = src.source(svc.name);
  const decision = src.decision(svc.name);
  const override = src.override(svc.name);
  const cordons = src.cordons(svc.name);
  const load = src.load(svc.name);

  const inHouse = [...svc.inHouse]
    .map((e) => {
      const key = endpointKey(e.address, e.port);
      return { endpoint: key, capacity: e.capacity, health: cordons.get(key) ?? ('HEALTHY' as const) };
    })
    .sort((a, b) => a.endpoint.localeCompare(b.endpoint));
  const capacity = servingCapacity(svc.inHouse, cordons);
  const inProgress = load?.localities['in-house'].inProgress ?? 0;
  const offered = load
    ? load.localities['in-house'].issuedRps + load.localities.modal.issuedRps + load.drops.droppedRps
    : 0;

  const state: ServiceState = {
    name: svc.name,
    source,
    weights: weightsOf(plan),
    shares: sharesOf(plan, svc.modal !== undefined),
    mode: source === 'OVERRIDE' ? 'override' : (decision?.mode ?? 'static'),
    reason: reasonOf(source, decision, override, now),
    modal_stats: modalStatsOf(src.modalStatus(svc.name)),
    load: loadOf(load),
    in_house: inHouse,
    in_house_capacity: capacity,
    in_house_utilisation: capacity > 0 ? inProgress / capacity : 0,
    offered_rps: offered,
    controlled: decision !== undefined || svc.capacity !== undefined,
  };
  if (decision) state.decision = decisionOf(decision, svc.modal !== undefined);
  if (override) {
    state.override = {
      share: override.share,
      reason: override.reason,
      set_at_unix_ms: override.setAtMs,
      expires_at_unix_ms: override.expiresAtMs,
      remaining_ms: Math.max(0, override.expiresAtMs - now),
    };
  }
  return state;
}

export function weightsOf(plan: TrafficPlan): Weights {
  return { in_house: plan.inHouseWeight, modal: plan.modalWeight, modal_health: plan.modalHealth, drop_percent: plan.dropPercent };
}

/**
 * Fractions of requests the plan sends each way. A DEGRADED Modal endpoint gets traffic only when the
 * in-house locality cannot serve, so its share in steady state is 0 whatever its weight.
 */
export function sharesOf(plan: TrafficPlan, hasModal = true): Shares {
  const dropped = Math.min(1, Math.max(0, plan.dropPercent / 100));
  const modalWeight = hasModal && plan.modalHealth === 'HEALTHY' ? plan.modalWeight : 0;
  const total = plan.inHouseWeight + modalWeight;
  const modal = total > 0 ? ((1 - dropped) * modalWeight) / total : 0;
  return { in_house: 1 - dropped - modal, modal, dropped };
}

function reasonOf(source: PlanSource, decision: CapacityDecision | undefined, override: ActiveOverride | undefined, now: number): string {
  if (source === 'OVERRIDE' && override) {
    const mins = Math.ceil(Math.max(0, override.expiresAtMs - now) / 60_000);
    return `operator override to ${(override.share * 100).toFixed(1)}% Modal for ${mins} more min${override.reason ? `: ${override.reason}` : ''}`;
  }
  if (decision) return decision.reason;
  return 'static share from the configuration';
}

function decisionOf(d: CapacityDecision, hasModal: boolean): Decision {
  return {
    policy: d.policy,
    mode: d.mode,
    reason: d.reason,
    weights: weightsOf(d.plan),
    shares: sharesOf(d.plan, hasModal),
    at_unix_ms: d.atMs,
    inputs: inputsOf(d.inputs),
  };
}

function inputsOf(inputs: Readonly<Record<string, CapacityInput>>): InputReading[] {
  return Object.entries(inputs)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, r]) => (r.ageMs === null ? { name, value: r.value } : { name, value: r.value, age_ms: r.ageMs }));
}

function modalStatsOf(status: ModalPollerStatus | undefined): ModalStats {
  const m: ModalStats = {
    observed: status?.last !== undefined,
    runners: status?.last?.runners ?? 0,
    backlog: status?.last?.backlog ?? 0,
    consecutive_failures: status?.consecutiveFailures ?? 0,
    last_error: status?.lastError ?? '',
  };
  if (status?.last?.runningInputs !== undefined) m.running_inputs = status.last.runningInputs;
  if (status?.last?.inputHeadroom !== undefined) m.input_headroom = status.last.inputHeadroom;
  if (status?.ageMs !== undefined) m.age_ms = status.ageMs;
  return m;
}

function localityOf(l: LocalityLoadReading): LocalityLoad {
  return {
    in_progress: l.inProgress,
    issued_rps: l.issuedRps,
    success_rps: l.successRps,
    error_rps: l.errorRps,
    age_ms: l.ageMs,
    reporters: l.reporters,
  };
}

function loadOf(load: ServiceLoad | undefined): ServiceLoadMsg {
  if (!load) return { reported: false };
  return {
    reported: true,
    in_house: localityOf(load.localities['in-house']),
    modal: localityOf(load.localities.modal),
    dropped_rps: load.drops.droppedRps,
    reporters: load.reporters,
  };
}

function envoysOf(rows: readonly SyncStatusRow[]): EnvoyNode[] {
  const byNode = new Map<string, EnvoyNode & { types: TypeSync[] }>();
  for (const r of rows) {
    let node = byNode.get(r.nodeId);
    if (!node) {
      node = { node_id: r.nodeId, node_cluster: r.nodeCluster, stream_id: r.streamId, types: [] };
      byNode.set(r.nodeId, node);
    }
    const t: TypeSync = {
      type: r.type,
      status: r.status,
      current_version: r.currentVersion ?? '',
      sent_version: r.sent?.version ?? '',
      acked_version: r.acked?.version ?? '',
    };
    if (r.lastNack) t.last_nack = { version: r.lastNack.version, nonce: r.lastNack.nonce, detail: r.lastNack.detail, at_unix_ms: r.lastNack.atMs };
    if (r.lastPublishToAckMs !== undefined) t.publish_to_ack_ms = r.lastPublishToAckMs;
    node.types.push(t);
  }
  return [...byNode.values()];
}
