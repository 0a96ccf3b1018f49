import type * as grpc from '@grpc/grpc-js';
import type { SpillwayConfig } from '../config/config-types.js';
import { systemClock, type Clock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { realScheduler, type Scheduler } from '../core/scheduler.js';
import { HostnameWatcher, type ResolveFn } from '../inputs/modal-dns.js';
import { loadProtos } from '../protos/load-protos.js';
import { AdsServer } from '../xds/ads-server.js';
import { SnapshotCache } from '../xds/snapshot-cache.js';
import { SyncStatus } from '../xds/sync-status.js';
import { bindServer, createXdsGrpcServer, shutdownServer } from '../xds/xds-grpc-server.js';
import { XdsEvents } from '../xds/xds-events.js';
import { Publisher } from './publisher.js';

export interface AppDeps {
  clock?: Clock;
  scheduler?: Scheduler;
  logger?: Logger;
  resolve?: ResolveFn;
}

export interface SpillwayApp {
  readonly config: SpillwayConfig;
  readonly xdsPort: number;
  readonly cache: SnapshotCache;
  readonly events: XdsEvents;
  readonly ads: AdsServer;
  readonly publisher: Publisher;
  readonly syncStatus: SyncStatus;
  stop(): Promise<void>;
}

/**
 * Composition root: builds the object graph from a validated config and starts serving.
 * Data flows one way: inputs → publisher (build, validate) → snapshot cache → ADS streams.
 */
export async function startSpillway(config: SpillwayConfig, deps: AppDeps = {}): Promise<SpillwayApp> {
  const clock = deps.clock ?? systemClock;
  const scheduler = deps.scheduler ?? realScheduler;
  const logger = deps.logger ?? silentLogger;
  const { protos } = loadProtos();

  const cache = new SnapshotCache();
  const events = new XdsEvents();
  const publisher = new Publisher(cache, protos, config.services, logger);
  const syncStatus = new SyncStatus({ clock, events, currentVersion: (t) => cache.current()?.types[t].version });
  publisher.onPublish((r) => {
    const snap = cache.current();
    if (!snap) return;
    for (const t of r.changed) syncStatus.notePublished(t, snap.types[t].version, clock.nowMs());
  });
  const first = publisher.publish();
  if (!first.ok) throw new Error(`initial configuration does not validate:\n  ${first.errors.join('\n  ')}`);

  const watchers: HostnameWatcher[] = [];
  for (const s of config.services) {
    if (!s.modal || s.modal.connectAddress) continue;
    const w = new HostnameWatcher(s.modal.hostname, (ip) => publisher.setModalIp(s.name, ip), {
      scheduler,
      clock,
      logger,
      ...(deps.resolve ? { resolve: deps.resolve } : {}),
    });
    watchers.push(w);
    await w.start();
  }

  const ads = new AdsServer({ cache, events, clock, logger });
  const server: grpc.Server = createXdsGrpcServer({ maxConnectionAgeMs: config.xds.maxConnectionAgeMs });
  server.addService(loadProtos().protos.envoy.service.discovery.v3.AggregatedDiscoveryService.service, {
    StreamAggregatedResources: ads.streamAggregatedResources,
    DeltaAggregatedResources: ads.deltaAggregatedResources,
  });
  const xdsPort = await bindServer(server, config.xds.listen);
  logger.child({ component: 'app' }).info({ xds: `${config.xds.listen.host}:${xdsPort}`, services: config.services.map((s) => s.name) }, 'Spillway serving ADS');

  return {
    config,
    xdsPort,
    cache,
    events,
    ads,
    publisher,
    syncStatus,
    async stop() {
      syncStatus.close();
      for (const w of watchers) w.stop();
      ads.closeAll();
      await shutdownServer(server);
    },
  };
}
