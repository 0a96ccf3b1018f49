// The admin API's State message, mapped from the domain read model. Pure mapping: the same code
// serves GetState, WatchWeights and `spillway watch`.
import type { InputReading as CapacityInput, Decision as CapacityDecision } from '../capacity/types.js';
import type { ChangeCause, ReadModel, ServiceMode, ServiceView } from '../control/read-model.js';
import type { ReplicationStatus } from '../control/replication-status.js';
import type { Replication } from '../generated/spillway/admin/v1/Replication.js';
import type { Decision } from '../generated/spillway/admin/v1/Decision.js';
import type { EndpointSource } from '../generated/spillway/admin/v1/EndpointSource.js';
import type { HostServing } from '../generated/spillway/admin/v1/HostServing.js';
import type { SourceHealth as SourceHealthMsg } from '../generated/spillway/admin/v1/SourceHealth.js';
import type { SourceState } from '../discovery/source-state.js';
import type { HostVerdict } from '../model/host-health.js';
import type { EnvoyNode } from '../generated/spillway/admin/v1/EnvoyNode.js';
import type { InputReading } from '../generated/spillway/admin/v1/InputReading.js';
import type { LocalityLoad } from '../generated/spillway/admin/v1/LocalityLoad.js';
import type { Mode } from '../generated/spillway/admin/v1/Mode.js';
import type { Policy } from '../generated/spillway/admin/v1/Policy.js';
import type { PolicyName } from '../config/capacity-policy.js';
import type { ModalStats } from '../generated/spillway/admin/v1/ModalStats.js';
import type { ServiceLoad as ServiceLoadMsg } from '../generated/spillway/admin/v1/ServiceLoad.js';
import type { ServiceState } from '../generated/spillway/admin/v1/ServiceState.js';
import type { Shares } from '../generated/spillway/admin/v1/Shares.js';
import type { State } from '../generated/spillway/admin/v1/State.js';
import type { StateCause as StateCauseMsg } from '../generated/spillway/admin/v1/StateCause.js';
import type { TypeSync } from '../generated/spillway/admin/v1/TypeSync.js';
import type { Weights } from '../generated/spillway/admin/v1/Weights.js';
import type { LocalityLoadReading, ServiceLoad } from '../lrs/load-view.js';
import type { ModalFeedStatus } from '../modal/start-modal-side.js';
import { tierShares, type TierShares, type TrafficPlan } from '../model/traffic-plan.js';
import type { SyncStatusRow } from '../xds/sync-status.js';

const CAUSE: Record<ChangeCause, StateCauseMsg> = {
  initial: 'CAUSE_INITIAL',
  decision: 'CAUSE_DECISION',
  publish: 'CAUSE_PUBLISH',
  override: 'CAUSE_OVERRIDE',
  cordon: 'CAUSE_CORDON',
  poll: 'CAUSE_POLL',
  discovery: 'CAUSE_DISCOVERY',
  replication: 'CAUSE_REPLICATION',
};

const MODE: Record<ServiceMode, Mode> = {
  'in-house': 'MODE_IN_HOUSE',
  spilling: 'MODE_SPILLING',
  draining: 'MODE_DRAINING',
  shedding: 'MODE_SHEDDING',
  'fail-safe': 'MODE_FAIL_SAFE',
  static: 'MODE_STATIC',
  override: 'MODE_OVERRIDE',
};

const POLICY: Record<PolicyName, Policy> = { seed: 'POLICY_SEED', default: 'POLICY_DEFAULT' };

const SERVING: Record<HostVerdict, HostServing> = { SERVING: 'HOST_SERVING', UNUSED: 'HOST_UNUSED', FAILING: 'HOST_FAILING' };

const SOURCE_HEALTH: Record<SourceState['health'], SourceHealthMsg> = {
  PENDING: 'SOURCE_PENDING',
  OK: 'SOURCE_OK',
  STALE: 'SOURCE_STALE',
};

function sourceOf(s: SourceState, nowMs: number): EndpointSource {
  const msg: EndpointSource = {
    source: s.source,
    health: SOURCE_HEALTH[s.health],
    endpoints: s.endpoints.length,
    problem: s.problem ?? '',
  };
  if (s.health !== 'OK' && s.badSinceMs !== undefined) msg.stale_for_ms = Math.max(0, nowMs - s.badSinceMs);
  if (s.graceEndsAtMs !== undefined) msg.grace_ends_at_unix_ms = s.graceEndsAtMs;
  return msg;
}

export function buildState(read: ReadModel, cause: ChangeCause, only?: string): State {
  const s = read.publisherStats();
  const replication = read.replication();
  return {
    ...(replication ? { replication: replicationOf(replication) } : {}),
    at_unix_ms: read.nowMs(),
    state_cause: CAUSE[cause],
    services: read
      .services()
      .filter((v) => !only || v.name === only)
      .map((v) => buildServiceState(v, read.nowMs())),
    envoys: envoysOf(read.syncRows(), read.replicaId()),
    publisher: { published: s.published, unchanged: s.unchanged, rejected: s.rejected, last_errors: [...s.lastErrors] },
    connected_streams: read.connectedStreams(),
    replica_id: read.replicaId(),
  };
}

export function buildServiceState(v: ServiceView, nowMs: number): ServiceState {
  const hasModal = v.config.modal !== undefined;
  const state: ServiceState = {
    name: v.name,
    source: v.source,
    weights: weightsOf(v.plan),
    shares: sharesMsg(v.shares),
    service_mode: MODE[v.mode],
    reason: v.reason,
    modal_stats: modalStatsOf(v.modalStats),
    load: loadOf(v.load),
    in_house: v.inHouse.map((e) => ({
      endpoint: e.endpoint,
      capacity: e.capacity,
      health: e.health,
      serving: SERVING[e.serving],
      serving_fraction: e.servingFraction,
      probe: e.probeUp === undefined ? 'PROBE_VERDICT_UNSPECIFIED' : e.probeUp ? 'PROBE_UP' : 'PROBE_DOWN',
    })),
    in_house_capacity: Math.round(v.inHouseCapacity),
    in_house_healthy_fraction: v.inHouseHealthyFraction,
    endpoint_sources: v.endpointSources.map((src) => sourceOf(src, nowMs)),
    modal_addresses: [...v.modalAddresses],
    in_house_utilization: v.inHouseUtilization,
    offered_rps: v.offeredRps,
    controlled: v.controlled,
  };
  if (v.modalCost) {
    const c = v.modalCost;
    state.modal_cost = {
      price_per_container_second: c.pricePerContainerSecond,
      dollars_per_hour: c.dollarsPerHour,
      dollars_since_start: c.dollarsSinceStart,
      dollars_today: c.dollarsToday,
      container_seconds_since_start: c.containerSecondsSinceStart,
      since_unix_ms: c.sinceMs,
    };
  }
  if (v.decision) state.decision = decisionOf(v.decision, hasModal);
  if (v.override) {
    state.override = {
      share: v.override.share,
      reason: v.override.reason,
      set_at_unix_ms: v.override.setAtMs,
      expires_at_unix_ms: v.override.expiresAtMs,
      remaining_ms: Math.max(0, v.override.expiresAtMs - nowMs),
    };
  }
  return state;
}

function replicationOf(r: ReplicationStatus): Replication {
  return {
    replica_id: r.replicaId,
    leader_id: r.leaderId ?? '',
    is_leader: r.isLeader,
    fencing_token: r.fencingToken ?? '',
    etcd_connected: r.etcdConnected,
    degraded: r.degraded ?? '',
    members: r.members.map((m) => ({ replica_id: m.replicaId, xds: m.xds, admin: m.admin, leader: m.leader, same_config: m.sameConfig })),
  };
}

function weightsOf(plan: TrafficPlan): Weights {
  return { in_house: plan.inHouseWeight, modal: plan.modalWeight, modal_endpoint_health: plan.modalHealth, drop_percent: plan.dropPercent };
}

function sharesMsg(s: TierShares): Shares {
  return { in_house: s.inHouse, modal: s.modal, dropped: s.dropped };
}

function decisionOf(d: CapacityDecision, hasModal: boolean): Decision {
  return {
    decision_policy: POLICY[d.policy],
    decision_mode: MODE[d.mode],
    reason: d.reason,
    weights: weightsOf(d.plan),
    shares: sharesMsg(tierShares(d.plan, hasModal)),
    at_unix_ms: d.atMs,
    inputs: inputsOf(d.inputs),
  };
}

function inputsOf(inputs: Readonly<Record<string, CapacityInput>>): InputReading[] {
  return Object.entries(inputs)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, r]) => (r.ageMs === null ? { name, value: r.value } : { name, value: r.value, age_ms: r.ageMs }));
}

function modalStatsOf(status: ModalFeedStatus | undefined): ModalStats {
  const m: ModalStats = {
    observed: status?.last !== undefined,
    looked_up: status?.lookedUp ?? false,
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

function envoysOf(rows: readonly SyncStatusRow[], replica: string): EnvoyNode[] {
  const byNode = new Map<string, EnvoyNode & { types: TypeSync[] }>();
  for (const r of rows) {
    let node = byNode.get(r.nodeId);
    if (!node) {
      node = {
        node_id: r.nodeId,
        node_cluster: r.nodeCluster,
        stream_id: r.streamId,
        types: [],
        // Every stream this process serves is attached to it; with replicas, each answers for its own.
        replica,
        protocol: r.protocol === 'delta' ? 'DELTA' : 'SOTW',
        user_agent: [r.node.userAgentName, r.node.userAgentVersion].filter(Boolean).join(' '),
        connected_at_unix_ms: r.connectedAtMs,
      };
      byNode.set(r.nodeId, node);
    }
    const t: TypeSync = {
      xds_type: r.type,
      status: r.status,
      current_version: r.currentVersion ?? '',
      sent_version: r.sent?.version ?? '',
      acked_version: r.acked?.version ?? '',
    };
    if (r.lastNack)
      t.last_nack = { version: r.lastNack.version, nonce: r.lastNack.nonce, detail: r.lastNack.detail, at_unix_ms: r.lastNack.atMs };
    if (r.lastPublishToAckMs !== undefined) t.publish_to_ack_ms = r.lastPublishToAckMs;
    if (r.sent) t.sent_at_unix_ms = r.sent.atMs;
    if (r.acked) t.acked_at_unix_ms = r.acked.atMs;
    if (r.unsyncedSinceMs !== undefined) t.out_of_sync_since_unix_ms = r.unsyncedSinceMs;
    node.types.push(t);
  }
  return [...byNode.values()];
}
