// Adapts Spillway's live read models to StateSources (admin state, health and metrics all read
// through it). Only reads: nothing here can change what is published.
import type { CapacityController } from '../capacity/controller.js';
import type { Clock } from '../core/clock.js';
import type { LrsService } from '../lrs/lrs-server.js';
import type { ModalSide } from '../modal/start-modal-side.js';
import type { Publisher } from '../app/publisher.js';
import { planForModalShare } from '../resources/traffic-plan.js';
import type { AdsServer } from '../xds/ads-server.js';
import type { SnapshotCache } from '../xds/snapshot-cache.js';
import type { SyncStatus } from '../xds/sync-status.js';
import { TypeUrl } from '../xds/type-urls.js';
import type { OverrideStore } from '../app/override-store.js';
import type { PlanRouter } from '../app/plan-router.js';
import type { StateSources } from './state-view.js';

export interface AppReadModels {
  clock: Clock;
  publisher: Publisher;
  router: PlanRouter;
  overrides: OverrideStore;
  cache: SnapshotCache;
  syncStatus: SyncStatus;
  lrs: LrsService;
  modal: ModalSide | undefined;
  controller: CapacityController | undefined;
  ads: AdsServer;
}

export function stateSourcesFor(m: AppReadModels): StateSources {
  return {
    nowMs: () => m.clock.nowMs(),
    services: () => m.publisher.currentServices(),
    publishedPlan: (service) => {
      const p = m.publisher.plan(service);
      if (p) return p;
      const s = m.publisher.currentServices().find((x) => x.name === service);
      return planForModalShare(s?.modal?.staticShare ?? 0);
    },
    source: (service) => m.router.source(service),
    decision: (service) => m.controller?.current(service) ?? m.router.latestDecision(service),
    override: (service) => m.overrides.get(service),
    cordons: (service) => m.publisher.cordonsOf(service),
    modalStatus: (service) => m.modal?.poller.status(service),
    load: (service) => m.lrs.view.service(service),
    syncRows: () => m.syncStatus.snapshot().rows,
    connectedStreams: () => m.ads.connectedStreams(),
    publisherStats: () => m.publisher.stats,
  };
}

/** True when the cache holds a snapshot with a cluster and an assignment for every configured service. */
export function hasConsistentSnapshot(m: Pick<AppReadModels, 'cache' | 'publisher'>): boolean {
  const snap = m.cache.current();
  if (!snap) return false;
  return m.publisher
    .currentServices()
    .every((s) => snap.types[TypeUrl.Cluster].resources.has(s.name) && snap.types[TypeUrl.Endpoint].resources.has(s.name));
}

export function edsVersionOf(cache: SnapshotCache): string {
  return cache.current()?.types[TypeUrl.Endpoint].version ?? '';
}
