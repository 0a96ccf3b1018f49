import { Listeners } from '../core/listeners.js';
import type * as grpc from '@grpc/grpc-js';
import { stateSourcesFor } from '../admin/app-sources.js';
import { OverrideStore } from './override-store.js';
import { PlanRouter } from './plan-router.js';
import { startAdmin, type AdminEndpoint } from '../admin/start-admin.js';
import { CapacityController } from '../capacity/controller.js';
import type { Decision } from '../capacity/types.js';
import type { SpillwayConfig } from '../config/config-types.js';
import { systemClock, type Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { every, realScheduler, type Cancel, type Scheduler } from '../core/scheduler.js';
import { HostnameWatcher, type ResolveFn } from '../inputs/modal-dns.js';
import { startMetricsServer, type MetricsServer } from '../metrics/metrics-server.js';
import { createSpillwayMetrics } from '../metrics/spillway-metrics.js';
import { addLrsService, createLrsService, type LrsService } from '../lrs/lrs-server.js';
import { capacityActuatorFor } from '../modal/capacity-actuator.js';
import type { ModalSdkOptions } from '../modal/modal-sdk.js';
import { startModalSide, type ModalSide } from '../modal/start-modal-side.js';
import type { ModalApi } from '../modal/types.js';
import { loadProtos } from '../protos/load-protos.js';
import { AdsServer } from '../xds/ads-server.js';
import { SnapshotCache } from '../xds/snapshot-cache.js';
import { SyncStatus } from '../xds/sync-status.js';
import { bindServer, createXdsGrpcServer, shutdownServer } from '../xds/xds-grpc-server.js';
import { withPreEncodedResponses } from '../xds/response-bodies.js';
import { XdsEvents } from '../xds/xds-events.js';
import { controllerInputsFor } from './controller-inputs.js';
import { Publisher } from './publisher.js';

export interface AppDeps {
  clock?: Clock;
  scheduler?: Scheduler;
  logger?: Logger;
  resolve?: ResolveFn;
  /** Modal API override (tests); default: the official SDK. */
  modalApi?: ModalApi;
  modalSdk?: ModalSdkOptions;
}

export interface SpillwayApp {
  readonly config: SpillwayConfig;
  readonly xdsPort: number;
  readonly cache: SnapshotCache;
  readonly events: XdsEvents;
  readonly ads: AdsServer;
  readonly publisher: Publisher;
  readonly syncStatus: SyncStatus;
  readonly lrs: LrsService;
  /** Present when at least one service is driven by the capacity controller. */
  readonly controller: CapacityController | undefined;
  readonly modal: ModalSide | undefined;
  /** Operator overrides of Modal shares (set through the admin API). */
  readonly overrides: OverrideStore;
  /** Routes controller decisions and overrides to the publisher. */
  readonly router: PlanRouter;
  /** The admin gRPC port; undefined when it could not be bound (logged; the xDS path serves regardless). */
  readonly adminPort: number | undefined;
  readonly admin: AdminEndpoint | undefined;
  /** The Prometheus port; undefined when it could not be bound (logged). */
  readonly metricsPort: number | undefined;
  /** Every decision the controller publishes (and its first per service), for admin and metrics. */
  onDecision(fn: (service: string, d: Decision) => void): () => void;
  stop(): Promise<void>;
}

/**
 * Composition root: builds the object graph from a validated config and starts serving. Data flows
 * one way: inputs (config, Modal stats, LRS load) → capacity controller → publisher (build,
 * validate) → snapshot cache → ADS streams → Envoy. Everything else reads from the side.
 */
export async function startSpillway(config: SpillwayConfig, deps: AppDeps = {}): Promise<SpillwayApp> {
  const clock = deps.clock ?? systemClock;
  const scheduler = deps.scheduler ?? realScheduler;
  const logger = deps.logger ?? silentLogger;
  const log = logger.child({ component: 'app' });
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

  const cancels: Cancel[] = [];
  const watchers: HostnameWatcher[] = [];
  // What a failed start-up must undo, so an embedder (or a test) that catches the error is not left
  // with pollers and timers running.
  const undo: Array<() => void> = [() => syncStatus.close(), () => watchers.forEach((w) => w.stop())];
  const failStart = (err: unknown): never => {
    for (const u of undo.reverse()) {
      try {
        u();
      } catch {
        // Best effort: the original error is what matters.
      }
    }
    throw err;
  };
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

  // Modal is looked up before anything listens: a missing credential or unknown function stops
  // start-up with a message naming the service.
  const driven = config.services.filter((s) => s.modal && s.capacity);
  let modal: ModalSide | undefined;
  if (driven.length > 0) {
    modal = await startModalSide({
      functions: driven.map((s) => ({
        service: s.name,
        appName: s.modal!.app,
        functionName: s.modal!.function,
        ...(s.modal!.environment ? { environment: s.modal!.environment } : {}),
      })),
      clock,
      scheduler,
      logger,
      ...(deps.modalApi ? { api: deps.modalApi } : {}),
      ...(deps.modalSdk ? { sdk: deps.modalSdk } : {}),
      poll: { intervalMs: config.modalApi.pollIntervalMs, timeoutMs: config.modalApi.timeoutMs },
      autoscaler: { minIntervalMs: 5_000 },
    }).catch(failStart);
    const side = modal;
    undo.push(() => side.close());
  }

  const lrs = createLrsService({
    clock,
    scheduler,
    logger,
    clusters: () => publisher.currentServices().map((s) => s.name),
    intervalMs: config.lrs.intervalMs,
  });
  undo.push(() => lrs.close());

  // Isolated: a reader's bug (admin feed, metrics) must not fail the controller's tick.
  const decisionListeners = new Listeners<[string, Decision]>((err) => log.error({ error: errorMessage(err) }, 'decision listener failed'));
  // Decisions reach the publisher through the router, so an operator override can hold them back.
  const overrides = new OverrideStore(clock, scheduler);
  const router = new PlanRouter(publisher, overrides, logger);
  undo.push(() => overrides.close(), () => router.close(), () => cancels.forEach((c) => c()));
  let controller: CapacityController | undefined;
  if (modal && driven.length > 0) {
    const side = modal;
    controller = new CapacityController({
      clock,
      scheduler,
      logger,
      tickMs: config.controller.tickMs,
      services: driven.map((s) => ({ service: s.name, policy: s.capacity! })),
      readInputs: (service) => {
        const s = publisher.currentServices().find((x) => x.name === service);
        return s
          ? controllerInputsFor(s, {
              load: lrs.view,
              modalStatus: (name) => side.poller.status(name),
              modalAutoscaler: () => undefined,
              cordons: (name) => publisher.cordonsOf(name),
            })
          : undefined;
      },
      onDecision: (service, decision) => {
        const r = router.decision(service, decision);
        if (r && !r.ok) log.error({ service, errors: r.errors }, 'controller plan refused by validation');
        decisionListeners.emit(service, decision);
      },
      actuator: capacityActuatorFor(side.actuator),
      actuatorMinIntervalMs: 10_000,
    });
    controller.start();
    const started = controller;
    undo.push(() => started.stop());
    // Decide when an input arrives, not only on the tick: reaction is then bounded by the inputs.
    const offSample = side.poller.onSample(() => started.nudge());
    const offLoad = lrs.view.subscribe(() => started.nudge());
    cancels.push(offSample, () => void offLoad());
    // A deploy resets Modal's autoscaler settings: read them back and re-apply Spillway's intent.
    cancels.push(
      every(scheduler, config.modalApi.reconcileIntervalMs, async () => {
        for (const s of driven) {
          if (!side.actuator.intended(s.name)) continue;
          const r = await side.actuator.reconcile(s.name).catch((err: unknown) => ({ outcome: 'failed', error: errorMessage(err) }));
          if (r.outcome === 'applied') log.warn({ service: s.name }, 'Modal autoscaler settings had drifted (deploy?); re-applied');
        }
      }),
    );
  }

  const ads = new AdsServer({ cache, events, clock, logger });
  const server: grpc.Server = createXdsGrpcServer({ maxConnectionAgeMs: config.xds.maxConnectionAgeMs });
  // Resources are encoded once per version and shared by every stream's response (response-bodies.ts).
  server.addService(withPreEncodedResponses(protos.envoy.service.discovery.v3.AggregatedDiscoveryService.service), {
    StreamAggregatedResources: ads.streamAggregatedResources,
    DeltaAggregatedResources: ads.deltaAggregatedResources,
  });
  addLrsService(server, lrs);
  undo.push(() => server.forceShutdown());
  const xdsPort = await bindServer(server, config.xds.listen).catch(failStart);
  log.info(
    { xds: `${config.xds.listen.host}:${xdsPort}`, services: config.services.map((s) => s.name), controlled: driven.map((s) => s.name) },
    'Spillway serving ADS and LRS',
  );

  // Admin and metrics only read from the side. Failing to bind them is logged, not fatal: steering
  // traffic matters more than watching it (a readiness probe on the admin port still notices).
  const onDecision = (fn: (service: string, d: Decision) => void): (() => void) => decisionListeners.add(fn);
  const readModels = { clock, publisher, router, overrides, cache, syncStatus, lrs, modal, controller, ads };
  let admin: AdminEndpoint | undefined;
  try {
    admin = await startAdmin({ ...readModels, config, scheduler, logger, onDecision });
  } catch (err) {
    log.error({ err: errorMessage(err) }, 'admin endpoint not started');
  }
  const metrics = createSpillwayMetrics({
    state: stateSourcesFor(readModels),
    events,
    syncStatus,
    publisher,
    lrs,
    poller: modal?.poller,
    onDecision,
  });
  let metricsServer: MetricsServer | undefined;
  try {
    metricsServer = await startMetricsServer(config.metrics.listen, metrics, logger);
  } catch (err) {
    log.error({ err: errorMessage(err) }, 'metrics endpoint not started');
  }

  return {
    config,
    xdsPort,
    cache,
    events,
    ads,
    publisher,
    syncStatus,
    lrs,
    controller,
    modal,
    overrides,
    router,
    adminPort: admin?.port,
    admin,
    metricsPort: metricsServer?.port,
    onDecision,
    async stop() {
      controller?.stop();
      overrides.close();
      router.close();
      metrics.close();
      await Promise.all([admin?.stop(), metricsServer?.stop()]);
      for (const c of cancels) c();
      modal?.close();
      syncStatus.close();
      for (const w of watchers) w.stop();
      lrs.close();
      ads.closeAll();
      await shutdownServer(server);
    },
  };
}
