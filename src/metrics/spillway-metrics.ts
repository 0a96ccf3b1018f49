// Prometheus metrics. Counters and the latency histogram are fed by event subscriptions (an O(1)
// increment, nothing else, on the xDS path); every gauge is computed from the read models at scrape
// time from the domain read model, so an idle scraper costs nothing and a busy one never delays a push.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Decision } from '../capacity/types.js';
import type { Publisher } from '../control/publisher.js';
import type { ReadModel } from '../control/read-model.js';
import type { RecorderStats } from '../control/state-recorder.js';
import { AutoscalerCall } from '../modal/autoscaler-actuator.js';
import type { ModalFeeds } from '../modal/start-modal-side.js';
import { ModalFailure } from '../model/inputs.js';
import type { SyncStatus } from '../xds/sync-status.js';
import type { RefusalEvent } from '../xds/xds-gate.js';
import { ADS_ORDER, isWildcardType, shortType } from '../xds/type-urls.js';
import { TallyHistogram } from './tally-histogram.js';
import type { XdsEvents } from '../xds/xds-events.js';

export interface MetricsSources {
  read: ReadModel;
  events: XdsEvents;
  syncStatus: SyncStatus;
  publisher: Publisher;
  modal: ModalFeeds | undefined;
  onDecision(fn: (service: string, d: Decision) => void): () => void;
  /** What the operating-state recorder has done; undefined without a state directory. */
  stateSaves?: () => RecorderStats;
  /** Clients the xDS port refused (limits, node identity, reporters). */
  onRefused?(fn: (e: RefusalEvent) => void): () => void;
  /** When each TLS port's certificate expires, read at scrape time (ports without TLS are left out). */
  certificates?: () => ReadonlyArray<{ port: TlsPort; notAfterMs: number }>;
}

/** Spillway's ports that can serve TLS. */
export const TlsPort = { Xds: 'xds', Admin: 'admin', Metrics: 'metrics' } as const;
export type TlsPort = (typeof TlsPort)[keyof typeof TlsPort];

export interface SpillwayMetrics {
  readonly registry: Registry;
  /** Refreshes the gauges from the read models and renders the exposition text. */
  scrape(): Promise<string>;
  close(): void;
}

/** How often the event-loop delay histogram (nodejs_eventloop_lag_*) takes a sample. */
export const EVENT_LOOP_SAMPLE_MS = 1000;

/** Publish-to-ACK is milliseconds on loopback and seconds across a fleet under load. */
const ACK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createSpillwayMetrics(src: MetricsSources): SpillwayMetrics {
  const registry = new Registry();
  // The event-loop delay histogram samples on a timer: at prom-client's default 10 ms that is 100
  // wake-ups a second, most of an idle Spillway's CPU. Once a second still catches a stalled loop.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  const reg = { registers: [registry] };
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> =>
    new Gauge<L>({ name, help, labelNames, ...reg });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> =>
    new Counter<L>({ name, help, labelNames, ...reg });

  // Read at scrape time.
  const share = gauge('spillway_share_ratio', 'Fraction of requests the published plan sends each way (tier: in-house, modal, dropped)', [
    'service',
    'tier',
  ]);
  const weight = gauge('spillway_locality_weight', 'Published EDS locality weight', ['service', 'locality']);
  const mode = gauge('spillway_mode', 'Current mode of the service (1 for the active one)', ['service', 'mode']);
  const override = gauge('spillway_override_active', '1 while an operator override is published for the service', ['service']);
  const utilization = gauge('spillway_in_house_utilization_ratio', 'In-flight in-house requests over healthy in-house capacity (LRS)', [
    'service',
  ]);
  const capacity = gauge('spillway_in_house_capacity', 'Max concurrent requests over healthy in-house endpoints', ['service']);
  const healthyFraction = gauge(
    'spillway_in_house_healthy_fraction',
    "Envoy's healthy fraction of the in-house locality (the published weights correct for it)",
    ['service'],
  );
  const hostServing = gauge(
    'spillway_in_house_endpoint_serving_ratio',
    'Fraction of reporting Envoys that send an in-house endpoint traffic (LRS per-endpoint stats)',
    ['service', 'endpoint'],
  );
  const hostProbeUp = gauge(
    'spillway_in_house_probe_up',
    "1 while Spillway's own probe (in_house.probe) finds an in-house endpoint up, 0 while down; absent without a probe",
    ['service', 'endpoint'],
  );
  const sourceEndpoints = gauge('spillway_discovery_source_endpoints', 'Endpoints an endpoint source serves now', ['service', 'source']);
  const sourceStale = gauge(
    'spillway_discovery_source_stale',
    '1 while an endpoint source fails or answers empty and its last good set keeps serving',
    ['service', 'source'],
  );
  const sourceStaleFor = gauge('spillway_discovery_source_stale_seconds', 'How long an endpoint source has been stale', [
    'service',
    'source',
  ]);
  const offered = gauge('spillway_offered_demand_rps', 'Requests per second Envoy offered the service (issued + dropped, LRS)', [
    'service',
  ]);
  const inProgress = gauge('spillway_locality_in_progress', 'Requests in flight per locality (LRS)', ['service', 'locality']);
  const runners = gauge('spillway_modal_runners', 'Live Modal containers (stats API)', ['service']);
  const backlog = gauge('spillway_modal_backlog', 'Inputs waiting for a Modal container (stats API)', ['service']);
  const statsAge = gauge('spillway_modal_stats_age_seconds', 'Age of the last good Modal stats sample', ['service']);
  const costRate = gauge(
    'spillway_modal_cost_dollars_per_hour',
    'Live Modal spend rate: containers now × price per container-second × 3600',
    ['service'],
  );
  const costCap = gauge(
    'spillway_modal_cost_cap_dollars_per_hour',
    'The cost cap the controller holds Modal spend under, in dollars per hour (services with a cap and a price)',
    ['service'],
  );
  const costToday = gauge('spillway_modal_cost_today_dollars', 'Modal spend since 00:00 UTC (container count × price, integrated)', [
    'service',
  ]);
  const costTotal: { service: string; dollars: number }[] = [];
  new Counter<'service'>({
    name: 'spillway_modal_cost_dollars_total',
    help: 'Modal spend since Spillway started (container count × price, integrated)',
    labelNames: ['service'],
    ...reg,
    collect() {
      this.reset();
      for (const c of costTotal) this.inc({ service: c.service }, c.dollars);
    },
  });
  const pollFailing = gauge('spillway_modal_poll_consecutive_failures', 'Consecutive failed Modal stats polls', ['service']);
  const lookedUp = gauge(
    'spillway_modal_function_looked_up',
    '1 once the Modal function is looked up; 0 while lookups are retried (Modal API unreachable at start)',
    ['service'],
  );
  const reportAge = gauge('spillway_lrs_report_age_seconds', 'Age of the newest LRS report per locality', ['service', 'locality']);
  const lrsEnvoys = gauge('spillway_lrs_connected_envoys', 'Envoys with an open LRS stream', []);
  const byType = gauge('spillway_xds_streams_by_type', 'Connected Envoys that have been sent each xDS type', ['type']);
  const sync = gauge('spillway_xds_sync_status', 'Connected Envoys per xDS type and sync status', ['type', 'status']);
  const streams = gauge('spillway_xds_connected_streams', 'Open ADS streams by protocol', ['protocol']);
  const stateAge = gauge(
    'spillway_state_last_save_age_seconds',
    'Time since the operating state was last saved (a restart resumes from it); absent without state.dir',
    [],
  );
  new Counter({
    name: 'spillway_state_save_errors_total',
    help: 'Failed saves of the operating state (each is retried; the state file keeps the last good save)',
    ...reg,
    collect() {
      this.reset();
      const st = src.stateSaves?.();
      if (st) this.inc(st.failures);
    },
  });
  const outOfSync = gauge(
    'spillway_xds_out_of_sync_seconds',
    'Longest time a connected Envoy has lacked the config it should run (sent and not applied, or CDS/LDS never sent), per xDS type; 0 when all are in sync',
    ['type'],
  );
  const certExpiry = gauge(
    'spillway_tls_certificate_expiry_timestamp_seconds',
    'When the certificate each TLS port serves now stops being valid (its notAfter, Unix seconds); follows rotations. Alert on it minus time()',
    ['port'],
  );
  const dropped = gauge('spillway_dropped_rps', 'Requests per second Envoy dropped on purpose (drop_overloads, LRS)', ['service']);
  // Replicas only (`ha:`): absent for a single Spillway.
  const haLeader = gauge('spillway_ha_leader', '1 while this replica leads its group (decides and drives Modal)', ['replica']);
  const haEtcd = gauge('spillway_ha_etcd_connected', '1 while this replica follows etcd live', ['replica']);
  const haDegraded = gauge(
    'spillway_ha_degraded',
    '1 while this replica is degraded (etcd unreachable, no leader, configurations differ)',
    ['replica'],
  );
  const haMembers = gauge('spillway_ha_members', 'Replicas in the group, as this replica sees them', ['replica']);
  const haToken = gauge('spillway_ha_fencing_token', "The leader's fencing token (grows with every new leader)", ['replica']);

  // Fed by subscriptions. Per-response and per-ACK counts are plain tallies (once per stream per
  // push: prom-client hashes labels on every inc), copied into the counters at scrape time.
  const tally = { sent: new Map<string, number>(), ack: new Map<string, number>(), nack: new Map<string, number>() };
  const tallied = (name: string, help: string, counts: Map<string, number>): Counter<'type'> =>
    new Counter<'type'>({
      name,
      help,
      labelNames: ['type'],
      ...reg,
      collect() {
        this.reset();
        for (const [type, n] of counts) this.inc({ type }, n);
      },
    });
  tallied('spillway_xds_pushes_total', 'xDS responses sent, by type', tally.sent);
  tallied('spillway_xds_acks_total', 'xDS ACKs received, by type', tally.ack);
  tallied('spillway_xds_nacks_total', 'xDS NACKs received, by type', tally.nack);
  const count = (counts: Map<string, number>, type: string): void => void counts.set(type, (counts.get(type) ?? 0) + 1);
  const pollErrors = counter(
    'spillway_modal_poll_errors_total',
    'Failed Modal stats polls, by what failed (rate_limited, unavailable, timeout, rejected, other)',
    ['service', 'reason'],
  );
  const autoscalerCalls = counter(
    'spillway_modal_autoscaler_calls_total',
    "Calls to Modal's autoscaler API (call: update, read_back), answered or failed",
    ['service', 'call'],
  );
  const autoscalerErrors = counter(
    'spillway_modal_autoscaler_errors_total',
    "Failed calls to Modal's autoscaler API, by call and what failed (rate_limited, unavailable, timeout, rejected, other)",
    ['service', 'call', 'reason'],
  );
  const lookupErrors = counter('spillway_modal_lookup_errors_total', 'Failed Modal function lookups', ['service']);
  // Every failure series exists from the start at 0, so increase() sees a service's first failure.
  for (const service of src.modal?.services() ?? []) {
    for (const reason of Object.values(ModalFailure)) {
      pollErrors.inc({ service, reason }, 0);
      for (const call of Object.values(AutoscalerCall)) autoscalerErrors.inc({ service, call, reason }, 0);
    }
  }
  const decisions = counter('spillway_decisions_total', 'Capacity decisions that changed the plan, by resulting mode', ['service', 'mode']);
  const publishes = counter('spillway_snapshot_publishes_total', 'Snapshots published (content changed)', []);
  const rejected = counter('spillway_snapshot_rejected_total', 'Configurations refused by validation (last good kept serving)', []);
  const refused = counter(
    'spillway_xds_refused_total',
    'xDS/LRS streams refused, by the limit or rule broken (its config path) and status',
    ['service', 'rule', 'code'],
  );
  new Counter<'reason'>({
    name: 'spillway_lrs_rejected_total',
    help: 'LRS report parts ignored (never fed to the controller), by reason',
    labelNames: ['reason'],
    ...reg,
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(src.read.lrsRejected())) this.inc({ reason }, n);
    },
  });
  const ackLatency = new TallyHistogram(
    'spillway_xds_publish_to_ack_seconds',
    'From publishing a version to an Envoy ACKing it',
    'type',
    ACK_BUCKETS,
    registry,
  );

  // The first snapshot is published before metrics exist: start from the publisher's own counts.
  publishes.inc(src.publisher.stats.published);
  rejected.inc(src.publisher.stats.rejected);

  const openStreams = new Map<number, 'sotw' | 'delta'>();
  const unsubscribes: Array<() => void> = [
    src.events.on((e) => {
      switch (e.kind) {
        case 'stream-opened':
          openStreams.set(e.streamId, e.protocol);
          break;
        case 'stream-closed':
          openStreams.delete(e.streamId);
          break;
        case 'sent':
          count(tally.sent, shortType(e.typeUrl));
          break;
        case 'ack':
          count(tally.ack, shortType(e.typeUrl));
          break;
        case 'nack':
          count(tally.nack, shortType(e.typeUrl));
          break;
        case 'stale-nonce':
          break;
      }
    }),
    src.syncStatus.onAckLatency((s) => ackLatency.observe(shortType(s.typeUrl), s.latencyMs / 1000)),
    src.publisher.onPublish((r) => {
      if (!r.ok) rejected.inc();
      else if (r.changed.size > 0) publishes.inc();
    }),
    src.onDecision((service, d) => decisions.inc({ service, mode: d.mode })),
    src.onRefused?.((e) => refused.inc({ service: e.service, rule: e.rule, code: e.code })) ?? (() => {}),
    src.modal?.onStatus((s) => {
      if (!s.lookedUp) {
        if (s.lookupFailures > 0) lookupErrors.inc({ service: s.service });
      } else if (s.consecutiveFailures > 0) pollErrors.inc({ service: s.service, reason: s.lastFailure ?? ModalFailure.Other });
    }) ?? (() => {}),
    src.modal?.onAutoscalerCall((e) => {
      autoscalerCalls.inc({ service: e.service, call: e.call });
      if (e.failure) autoscalerErrors.inc({ service: e.service, call: e.call, reason: e.failure });
    }) ?? (() => {}),
  ];

  const refresh = (): void => {
    for (const g of [
      share,
      weight,
      mode,
      override,
      utilization,
      capacity,
      healthyFraction,
      hostServing,
      hostProbeUp,
      sourceEndpoints,
      sourceStale,
      sourceStaleFor,
      offered,
      inProgress,
      runners,
      backlog,
      statsAge,
      costRate,
      costCap,
      costToday,
      pollFailing,
      lookedUp,
      reportAge,
      lrsEnvoys,
      byType,
      sync,
      streams,
      stateAge,
      outOfSync,
      dropped,
      haLeader,
      haEtcd,
      haDegraded,
      haMembers,
      haToken,
      certExpiry,
    ])
      g.reset();
    for (const c of src.certificates?.() ?? []) certExpiry.set({ port: c.port }, c.notAfterMs / 1000);
    costTotal.length = 0;
    const now = src.read.nowMs();
    const ha = src.read.replication();
    if (ha) {
      const replica = ha.replicaId;
      haLeader.set({ replica }, ha.isLeader ? 1 : 0);
      haEtcd.set({ replica }, ha.etcdConnected ? 1 : 0);
      haDegraded.set({ replica }, ha.degraded ? 1 : 0);
      haMembers.set({ replica }, ha.members.length);
      if (ha.fencingToken !== undefined) haToken.set({ replica }, Number(ha.fencingToken));
    }
    for (const v of src.read.services()) {
      const service = v.name;
      if (v.modalCost) {
        costRate.set({ service }, v.modalCost.dollarsPerHour);
        const capSeconds = v.config.capacity?.default.costCapContainerSecondsPerHour ?? null;
        if (capSeconds !== null) costCap.set({ service }, capSeconds * v.modalCost.pricePerContainerSecond);
        costToday.set({ service }, v.modalCost.dollarsToday);
        costTotal.push({ service, dollars: v.modalCost.dollarsSinceStart });
      }
      share.set({ service, tier: 'in-house' }, v.shares.inHouse);
      share.set({ service, tier: 'modal' }, v.shares.modal);
      share.set({ service, tier: 'dropped' }, v.shares.dropped);
      weight.set({ service, locality: 'in-house' }, v.plan.inHouseWeight);
      weight.set({ service, locality: 'modal' }, v.plan.modalWeight);
      mode.set({ service, mode: v.mode }, 1);
      override.set({ service }, v.override ? 1 : 0);
      utilization.set({ service }, v.inHouseUtilization);
      capacity.set({ service }, v.inHouseCapacity);
      healthyFraction.set({ service }, v.inHouseHealthyFraction);
      for (const e of v.inHouse) {
        hostServing.set({ service, endpoint: e.endpoint }, e.servingFraction);
        if (e.probeUp !== undefined) hostProbeUp.set({ service, endpoint: e.endpoint }, e.probeUp ? 1 : 0);
      }
      for (const src of v.endpointSources) {
        sourceEndpoints.set({ service, source: src.source }, src.endpoints.length);
        const stale = src.health === 'STALE';
        sourceStale.set({ service, source: src.source }, stale ? 1 : 0);
        sourceStaleFor.set(
          { service, source: src.source },
          stale && src.badSinceMs !== undefined ? Math.max(0, (now - src.badSinceMs) / 1000) : 0,
        );
      }
      offered.set({ service }, v.offeredRps);
      const m = v.modalStats;
      if (m?.last) {
        runners.set({ service }, m.last.runners);
        backlog.set({ service }, m.last.backlog);
        if (m.ageMs !== undefined) statsAge.set({ service }, m.ageMs / 1000);
      }
      // Before the function is looked up there are no polls; its failed lookups are counted apart.
      if (v.controlled) pollFailing.set({ service }, m?.lookedUp === false ? 0 : (m?.consecutiveFailures ?? 0));
      if (m) lookedUp.set({ service }, m.lookedUp ? 1 : 0);
      if (v.load) {
        dropped.set({ service }, v.load.drops.droppedRps);
        for (const locality of ['in-house', 'modal'] as const) {
          const l = v.load.localities[locality];
          inProgress.set({ service, locality }, l.inProgress);
          if (l.reporters > 0) reportAge.set({ service, locality }, l.ageMs / 1000);
        }
      }
    }
    lrsEnvoys.set(src.read.lrsConnectedEnvoys());
    const saved = src.stateSaves?.().lastSavedAtMs;
    if (saved !== undefined) stateAge.set(Math.max(0, src.read.nowMs() - saved) / 1000);
    for (const protocol of ['sotw', 'delta'] as const) streams.set({ protocol }, 0);
    for (const p of openStreams.values()) streams.inc({ protocol: p });
    const longest = new Map<string, number>(ADS_ORDER.map((t) => [shortType(t), 0]));
    for (const r of src.read.syncRows()) {
      sync.inc({ type: r.type, status: r.status });
      byType.inc({ type: r.type }, r.status === 'NOT_SENT' ? 0 : 1);
      // Nothing sent of EDS/RDS may just mean nothing asked for (no cluster or listener needs one);
      // CDS and LDS every Envoy asks for on connect.
      const counts = r.status === 'STALE' || r.status === 'ERROR' || (r.status === 'NOT_SENT' && isWildcardType(r.typeUrl));
      if (counts && r.unsyncedSinceMs !== undefined)
        longest.set(r.type, Math.max(longest.get(r.type) ?? 0, (now - r.unsyncedSinceMs) / 1000));
    }
    for (const [type, seconds] of longest) outOfSync.set({ type }, seconds);
  };

  return {
    registry,
    async scrape() {
      refresh();
      return registry.metrics();
    },
    close() {
      for (const u of unsubscribes) u();
    },
  };
}
