// Prometheus metrics. Counters and the latency histogram are fed by event subscriptions (an O(1)
// increment, nothing else, on the xDS path); every gauge is computed from the read models at scrape
// time from the domain read model, so an idle scraper costs nothing and a busy one never delays a push.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Decision } from '../capacity/types.js';
import type { Publisher } from '../control/publisher.js';
import type { ReadModel } from '../control/read-model.js';
import type { ModalStatsPoller } from '../modal/stats-poller.js';
import type { SyncStatus } from '../xds/sync-status.js';
import { shortType } from '../xds/type-urls.js';
import { TallyHistogram } from './tally-histogram.js';
import type { XdsEvents } from '../xds/xds-events.js';

export interface MetricsSources {
  read: ReadModel;
  events: XdsEvents;
  syncStatus: SyncStatus;
  publisher: Publisher;
  poller: ModalStatsPoller | undefined;
  onDecision(fn: (service: string, d: Decision) => void): () => void;
}

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
  const offered = gauge('spillway_offered_demand_rps', 'Requests per second Envoy offered the service (issued + dropped, LRS)', [
    'service',
  ]);
  const inProgress = gauge('spillway_locality_in_progress', 'Requests in flight per locality (LRS)', ['service', 'locality']);
  const runners = gauge('spillway_modal_runners', 'Live Modal containers (stats API)', ['service']);
  const backlog = gauge('spillway_modal_backlog', 'Inputs waiting for a Modal container (stats API)', ['service']);
  const statsAge = gauge('spillway_modal_stats_age_seconds', 'Age of the last good Modal stats sample', ['service']);
  const pollFailing = gauge('spillway_modal_poll_consecutive_failures', 'Consecutive failed Modal stats polls', ['service']);
  const reportAge = gauge('spillway_lrs_report_age_seconds', 'Age of the newest LRS report per locality', ['service', 'locality']);
  const lrsEnvoys = gauge('spillway_lrs_connected_envoys', 'Envoys with an open LRS stream', []);
  const byType = gauge('spillway_xds_streams_by_type', 'Connected Envoys that have been sent each xDS type', ['type']);
  const sync = gauge('spillway_xds_sync_status', 'Connected Envoys per xDS type and sync status', ['type', 'status']);
  const streams = gauge('spillway_xds_connected_streams', 'Open ADS streams by protocol', ['protocol']);

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
  const pollErrors = counter('spillway_modal_poll_errors_total', 'Failed Modal stats polls', ['service']);
  const decisions = counter('spillway_decisions_total', 'Capacity decisions that changed the plan, by resulting mode', ['service', 'mode']);
  const publishes = counter('spillway_snapshot_publishes_total', 'Snapshots published (content changed)', []);
  const rejected = counter('spillway_snapshot_rejected_total', 'Configurations refused by validation (last good kept serving)', []);
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
    src.poller?.onStatus((s) => {
      if (s.consecutiveFailures > 0) pollErrors.inc({ service: s.service });
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
      offered,
      inProgress,
      runners,
      backlog,
      statsAge,
      pollFailing,
      reportAge,
      lrsEnvoys,
      byType,
      sync,
      streams,
    ])
      g.reset();
    for (const v of src.read.services()) {
      const service = v.name;
      share.set({ service, tier: 'in-house' }, v.shares.inHouse);
      share.set({ service, tier: 'modal' }, v.shares.modal);
      share.set({ service, tier: 'dropped' }, v.shares.dropped);
      weight.set({ service, locality: 'in-house' }, v.plan.inHouseWeight);
      weight.set({ service, locality: 'modal' }, v.plan.modalWeight);
      mode.set({ service, mode: v.mode }, 1);
      override.set({ service }, v.override ? 1 : 0);
      utilization.set({ service }, v.inHouseUtilization);
      capacity.set({ service }, v.inHouseCapacity);
      offered.set({ service }, v.offeredRps);
      const m = v.modalStats;
      if (m?.last) {
        runners.set({ service }, m.last.runners);
        backlog.set({ service }, m.last.backlog);
        if (m.ageMs !== undefined) statsAge.set({ service }, m.ageMs / 1000);
      }
      if (v.controlled) pollFailing.set({ service }, m?.consecutiveFailures ?? 0);
      if (v.load) {
        for (const locality of ['in-house', 'modal'] as const) {
          const l = v.load.localities[locality];
          inProgress.set({ service, locality }, l.inProgress);
          if (l.reporters > 0) reportAge.set({ service, locality }, l.ageMs / 1000);
        }
      }
    }
    lrsEnvoys.set(src.read.lrsConnectedEnvoys());
    for (const protocol of ['sotw', 'delta'] as const) streams.set({ protocol }, 0);
    for (const p of openStreams.values()) streams.inc({ protocol: p });
    for (const r of src.read.syncRows()) {
      sync.inc({ type: r.type, status: r.status });
      byType.inc({ type: r.type }, r.status === 'NOT_SENT' ? 0 : 1);
    }
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
