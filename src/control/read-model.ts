// The domain read model: what Spillway is doing for each service right now, and why, assembled from
// the write side's own state. Admin (its wire message), metrics (gauges) and health read this, never
// each other. Only reads: nothing here can change what is published.
import type { Decision, Mode } from '../capacity/types.js';
import type { InHouseEndpoint, ServiceConfig } from '../config/config-types.js';
import type { Clock } from '../core/clock.js';
import type { LoadView, ServiceLoad } from '../lrs/load-view.js';
import type { ModalFeeds, ModalFeedStatus } from '../modal/start-modal-side.js';
import type { SourceState } from '../discovery/source-state.js';
import { endpointKey, servingCapacity, type CordonState, type Cordons } from '../model/cordons.js';
import { HostVerdict, inHouseHealthyFraction, type FleetHealth } from '../model/host-health.js';
import type { ProbeState } from '../model/probe-state.js';
import type { ProbeView } from '../discovery/host-prober.js';
import { offeredRps } from '../model/inputs.js';
import { staticPlanFor, tierShares, type TierShares, type TrafficPlan } from '../model/traffic-plan.js';
import type { NodeInfo } from '../xds/node-info.js';
import type { Subscription } from '../xds/protocol.js';
import type { ResourceTrack } from '../xds/resource-sync.js';
import type { TypeSnapshot } from '../xds/snapshot.js';
import type { SnapshotCache } from '../xds/snapshot-cache.js';
import type { SyncStatus, SyncStatusRow } from '../xds/sync-status.js';
import { TypeUrl } from '../xds/type-urls.js';
import type { CapacityController } from './capacity-controller.js';
import type { ModalCost, ModalCostMeter } from './modal-cost.js';
import type { ActiveOverride, OverrideStore } from './override-store.js';
import { PlanSource, type PlanRouter } from './plan-router.js';
import type { Publisher, PublisherStats } from './publisher.js';
import type { ReplicationStatus } from './replication-status.js';

/** What happened to change what the read model shows (shown by `spillway watch --plain`). */
export const ChangeCause = {
  /** The first view a reader gets. */
  Initial: 'initial',
  Decision: 'decision',
  Publish: 'publish',
  Override: 'override',
  Cordon: 'cordon',
  /** A reader asked (metrics scrape). */
  Poll: 'poll',
  /** An endpoint source changed state (stale, answering again, refused a file). */
  Discovery: 'discovery',
  /** Replicas: the leader, the members or the link to etcd changed. */
  Replication: 'replication',
} as const;
export type ChangeCause = (typeof ChangeCause)[keyof typeof ChangeCause];

/** What a service is doing, for people: the controller's mode, or who else set the plan. */
export type ServiceMode = Mode | 'static' | 'override';

export interface InHouseEndpointView {
  endpoint: string;
  capacity: number;
  health: CordonState | 'HEALTHY';
  /** What Envoy does with the host, from LRS (SERVING until a report says otherwise). */
  serving: HostVerdict;
  /** Fraction of reporting Envoys for which it serves (its capacity counts in this proportion). */
  servingFraction: number;
  /** Spillway's own probe (in_house.probe): undefined without one, or before its first verdict. */
  probeUp?: boolean;
}

export interface ServiceView {
  name: string;
  config: ServiceConfig;
  /** The plan published now, and what it sends each way. */
  plan: TrafficPlan;
  shares: TierShares;
  source: PlanSource;
  mode: ServiceMode;
  /** Why the plan is what it is, for a person. */
  reason: string;
  /** True when the capacity controller drives the service. */
  controlled: boolean;
  /** The controller's latest decision (also while an override is published). */
  decision: Decision | undefined;
  override: ActiveOverride | undefined;
  inHouse: InHouseEndpointView[];
  /** Max concurrent requests over the in-house endpoints that take new requests and that Envoy uses. */
  inHouseCapacity: number;
  /** Envoy's healthy fraction of the in-house locality, which the published weights correct for. */
  inHouseHealthyFraction: number;
  /** The endpoint sources (DNS, SRV, files) and what each serves; empty for a static fleet. */
  endpointSources: SourceState[];
  /** Every address the Modal hostname resolved to. */
  modalAddresses: readonly string[];
  /** In-flight in-house requests (LRS) over that capacity. */
  inHouseUtilization: number;
  offeredRps: number;
  /** The Modal feed: its function lookup until found, then its stats polling. */
  modalStats: ModalFeedStatus | undefined;
  /** Live Modal spend from the container count and the configured price; undefined without Modal stats. */
  modalCost: ModalCost | undefined;
  load: ServiceLoad | undefined;
}

/** One xDS type as a connected Envoy has it: the per-type row, its subscription and per-resource state. */
export interface TypeSyncView {
  typeUrl: TypeUrl;
  row: SyncStatusRow;
  /** undefined until the Envoy asked for the type. */
  subscription: Subscription | undefined;
  /** Per resource: what it runs, has in flight, rejected (live: read only). */
  tracks: ReadonlyMap<string, Readonly<ResourceTrack>>;
  /** What Spillway serves of the type now. */
  current: TypeSnapshot | undefined;
}

/** A connected Envoy and everything Spillway knows of its config (what CSDS reports). */
export interface NodeSyncView {
  node: NodeInfo;
  streamId: number;
  protocol: 'sotw' | 'delta';
  connectedAtMs: number;
  types: TypeSyncView[];
}

export interface ReadModel {
  nowMs(): number;
  /** This Spillway instance, as Envoys and operators see it (host:xds port). */
  replicaId(): string;
  services(): ServiceView[];
  service(name: string): ServiceView | undefined;
  /** Each service's tier split alone: what a once-a-second sampler needs, without building whole views. */
  splits(): { name: string; shares: TierShares }[];
  syncRows(): readonly SyncStatusRow[];
  /** Every connected Envoy, by node id, with its per-type and per-resource sync state. */
  syncNodes(): NodeSyncView[];
  connectedStreams(): number;
  lrsConnectedEnvoys(): number;
  /** LRS report parts ignored since start, by reason (never fed to the controller). */
  lrsRejected(): Readonly<Record<string, number>>;
  publisherStats(): PublisherStats;
  /** A validated snapshot is in the cache with a cluster and an assignment for every configured service. */
  consistentSnapshot(): boolean;
  /** The EDS version in the snapshot cache now ('' before the first publish). */
  edsVersion(): string;
  /** Replicas: this replica's view of its group; undefined for a single Spillway. */
  replication(): ReplicationStatus | undefined;
  /** Calls fn whenever a publish, a decision or an override changes what the model shows; returns unsubscribe. */
  onChange(fn: (cause: ChangeCause) => void): () => void;
}

export interface ReadModelSources {
  clock: Clock;
  publisher: Publisher;
  router: PlanRouter;
  overrides: OverrideStore;
  cache: SnapshotCache;
  syncStatus: SyncStatus;
  load: LoadView;
  modal: ModalFeeds | undefined;
  controller: CapacityController | undefined;
  cost?: ModalCostMeter | undefined;
  connectedStreams(): number;
  /** What an open ADS stream subscribes to of a type. */
  subscription(streamId: number, typeUrl: TypeUrl): Subscription | undefined;
  replicaId: string;
  /** Subscribes to the controller's published decisions; returns unsubscribe. */
  onDecision(fn: () => void): () => void;
  /** The endpoint sources of a service (none for a static fleet). */
  endpointSources?: (service: string) => SourceState[];
  /** Subscribes to endpoint-source state changes (stale, answering again); returns unsubscribe. */
  onDiscovery?: (fn: () => void) => () => void;
  /** Replicas: the group this replica belongs to. */
  replication?: { status(): ReplicationStatus; onStatus(fn: () => void): () => void };
  /** Spillway's own probe of in-house hosts. */
  probes?: ProbeView;
}

export function createReadModel(src: ReadModelSources): ReadModel {
  // plan() knows every configured service; the fallback only types it.
  const planOf = (svc: ServiceConfig): TrafficPlan => src.publisher.plan(svc.name) ?? staticPlanFor(svc);
  const view = (svc: ServiceConfig): ServiceView => {
    const now = src.clock.nowMs();
    const plan = planOf(svc);
    const source = src.router.source(svc.name);
    const decision = src.controller?.current(svc.name) ?? src.router.latestDecision(svc.name);
    const override = src.overrides.get(svc.name);
    const cordons = src.publisher.cordonsOf(svc.name);
    const load = src.load.service(svc.name);
    const modalStats = src.modal?.status(svc.name);
    const endpoints = src.publisher.inHouseOf(svc.name);
    const health = src.publisher.hostHealthOf(svc.name);
    const capacity = servingCapacity(endpoints, cordons, health);
    const inProgress = load?.localities['in-house'].inProgress ?? 0;
    return {
      name: svc.name,
      config: svc,
      plan,
      shares: tierShares(plan, svc.modal !== undefined),
      source,
      mode: source === PlanSource.Override ? 'override' : (decision?.mode ?? 'static'),
      reason: reasonOf(source, decision, override, now, modalStats),
      controlled: decision !== undefined || svc.capacity !== undefined,
      decision,
      override,
      inHouse: endpointViews(endpoints, cordons, health, src.probes?.statesOf(svc.name)),
      inHouseCapacity: capacity,
      inHouseHealthyFraction: inHouseHealthyFraction(endpoints, cordons, health),
      endpointSources: src.endpointSources?.(svc.name) ?? [],
      modalAddresses: svc.modal?.connectAddress ? [svc.modal.connectAddress] : src.publisher.modalAddresses(svc.name),
      inHouseUtilization: capacity > 0 ? inProgress / capacity : 0,
      offeredRps: load ? offeredRps({ inHouse: load.localities['in-house'], modal: load.localities.modal, drops: load.drops }) : 0,
      modalStats,
      modalCost: src.cost?.cost(svc.name),
      load,
    };
  };
  return {
    nowMs: () => src.clock.nowMs(),
    services: () => src.publisher.currentServices().map(view),
    splits: () =>
      src.publisher.currentServices().map((svc) => ({
        name: svc.name,
        shares: tierShares(planOf(svc), svc.modal !== undefined),
      })),
    service: (name) => {
      const svc = src.publisher.service(name);
      return svc ? view(svc) : undefined;
    },
    replicaId: () => src.replicaId,
    syncRows: () => src.syncStatus.snapshot().rows,
    syncNodes: () => {
      const snap = src.cache.current();
      const nodes: NodeSyncView[] = [];
      let last: NodeSyncView | undefined;
      for (const row of src.syncStatus.snapshot().rows) {
        if (last?.node.id !== row.nodeId) {
          last = { node: row.node, streamId: row.streamId, protocol: row.protocol, connectedAtMs: row.connectedAtMs, types: [] };
          nodes.push(last);
        }
        last.types.push({
          typeUrl: row.typeUrl,
          row,
          subscription: src.subscription(row.streamId, row.typeUrl),
          tracks: src.syncStatus.resources(row.nodeId, row.typeUrl),
          current: snap?.types[row.typeUrl],
        });
      }
      return nodes;
    },
    connectedStreams: () => src.connectedStreams(),
    lrsConnectedEnvoys: () => src.load.snapshot().connectedEnvoys,
    lrsRejected: () => src.load.snapshot().rejected,
    publisherStats: () => src.publisher.stats,
    consistentSnapshot: () => {
      const snap = src.cache.current();
      if (!snap) return false;
      return src.publisher
        .currentServices()
        .every((s) => snap.types[TypeUrl.Cluster].resources.has(s.name) && snap.types[TypeUrl.Endpoint].resources.has(s.name));
    },
    edsVersion: () => src.cache.current()?.types[TypeUrl.Endpoint].version ?? '',
    replication: () => src.replication?.status(),
    onChange: (fn) => {
      const offs = [
        src.publisher.onPublish((r) => {
          if (r.changed.size > 0) fn(ChangeCause.Publish);
        }),
        src.onDecision(() => fn(ChangeCause.Decision)),
        src.overrides.onChange(() => fn(ChangeCause.Override)),
        src.onDiscovery?.(() => fn(ChangeCause.Discovery)) ?? (() => {}),
        ...(src.replication ? [src.replication.onStatus(() => fn(ChangeCause.Replication))] : []),
      ];
      return () => offs.forEach((off) => off());
    },
  };
}

function endpointViews(
  endpoints: readonly InHouseEndpoint[],
  cordons: Cordons,
  health: FleetHealth,
  probes: ReadonlyMap<string, ProbeState> | undefined,
): InHouseEndpointView[] {
  return endpoints
    .map((e) => {
      const key = endpointKey(e.address, e.port);
      const h = health.get(key);
      const up = probes?.get(key)?.up;
      return {
        endpoint: key,
        capacity: e.capacity,
        health: cordons.get(key) ?? ('HEALTHY' as const),
        serving: h?.verdict ?? HostVerdict.Serving,
        servingFraction: h?.servingFraction ?? 1,
        ...(up !== undefined ? { probeUp: up } : {}),
      };
    })
    .sort((a, b) => a.endpoint.localeCompare(b.endpoint));
}

function reasonOf(
  source: PlanSource,
  decision: Decision | undefined,
  override: ActiveOverride | undefined,
  now: number,
  modal: ModalFeedStatus | undefined,
): string {
  const base = planReason(source, decision, override, now);
  if (!modal || modal.lookedUp) return base;
  // Said first: until the function is found nothing about Modal can be observed.
  // Between attempts the reason gives the delay; while one runs (up to the lookup timeout) it says so.
  const retry = modal.lookupInFlight
    ? '; retry under way'
    : modal.nextDelayMs !== undefined
      ? `; retrying in ${Math.max(1, Math.round(modal.nextDelayMs / 1000))} s`
      : '';
  const tries = modal.lookupFailures > 0 ? ` (${modal.lookupFailures} failed attempt${modal.lookupFailures === 1 ? '' : 's'}${retry})` : '';
  return `${modal.lastError ?? 'Modal function not looked up yet'}${tries}; ${base}`;
}

function planReason(source: PlanSource, decision: Decision | undefined, override: ActiveOverride | undefined, now: number): string {
  if (source === PlanSource.Override && override) {
    const mins = Math.ceil(Math.max(0, override.expiresAtMs - now) / 60_000);
    return `operator override to ${(override.share * 100).toFixed(1)}% Modal for ${mins} more min${override.reason ? `: ${override.reason}` : ''}`;
  }
  if (decision) return decision.reason;
  return 'static share from the configuration';
}
