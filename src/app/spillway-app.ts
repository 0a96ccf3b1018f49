// Composition root: builds the object graph from a validated config and starts serving. It owns no
// behaviour of its own. Data flows one way: inputs (config, Modal stats, LRS load, DNS) → capacity
// controller → plan router → publisher (build, validate) → snapshot cache → ADS streams → Envoy;
// admin and metrics read the domain read model from the side.
import type * as grpc from '@grpc/grpc-js';
import { startAdmin, type AdminEndpoint } from '../admin/start-admin.js';
import type { Decision } from '../capacity/types.js';
import type { ServiceConfig, SpillwayConfig } from '../config/config-types.js';
import { CapacityController } from '../control/capacity-controller.js';
import { controllerInputsFor } from '../control/controller-inputs.js';
import { OverrideStore } from '../control/override-store.js';
import { PlanRouter } from '../control/plan-router.js';
import { Publisher } from '../control/publisher.js';
import { createReadModel, type ReadModel } from '../control/read-model.js';
import { warmUpPushPath } from '../control/warm-up.js';
import { systemClock, type Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { Listeners } from '../core/listeners.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { realScheduler, type Scheduler } from '../core/scheduler.js';
import { Teardown } from '../core/teardown.js';
import { HostnameWatcher, type ResolveFn } from '../discovery/hostname-watcher.js';
import { addLrsService, createLrsService, type LrsService } from '../lrs/lrs-server.js';
import { startMetricsServer, type MetricsServer } from '../metrics/metrics-server.js';
import { createSpillwayMetrics } from '../metrics/spillway-metrics.js';
import type { ModalSdkOptions } from '../modal/modal-sdk.js';
import { startModalSide, type ModalSide } from '../modal/start-modal-side.js';
import type { ModalApi } from '../modal/types.js';
import { loadProtos, type SpillwayProtos } from '../protos/load-protos.js';
import { AdsServer } from '../xds/ads-server.js';
import { bindServer, createXdsGrpcServer, shutdownServer } from '../xds/grpc-server.js';
import { withPreEncodedResponses } from '../xds/response-bodies.js';
import { SnapshotCache } from '../xds/snapshot-cache.js';
import { SyncStatus } from '../xds/sync-status.js';
import { XdsEvents } from '../xds/xds-events.js';

export interface AppDeps {
  clock?: Clock;
  scheduler?: Scheduler;
  logger?: Logger;
  resolve?: ResolveFn;
  /** Modal API override (tests); default: the official SDK. */
  modalApi?: ModalApi;
  modalSdk?: ModalSdkOptions;
  /** Loaded protos (default: loaded once per process). */
  protos?: SpillwayProtos;
  /**
   * Run the publish → push → ACK path on simulated streams before serving, so the first real push
   * runs compiled code (control/warm-up.ts). Default true; tests that start many instances may skip it.
   */
  warmUp?: boolean;
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
  /** What each service is doing and why: what admin and metrics read. */
  readonly read: ReadModel;
  /** The admin gRPC port; undefined when it could not be bound (logged; the xDS path serves regardless). */
  readonly adminPort: number | undefined;
  readonly admin: AdminEndpoint | undefined;
  /** The Prometheus port; undefined when it could not be bound (logged). */
  readonly metricsPort: number | undefined;
  /** Every decision the controller publishes (and its first per service), for admin and metrics. */
  onDecision(fn: (service: string, d: Decision) => void): () => void;
  stop(): Promise<void>;
}

export async function startSpillway(config: SpillwayConfig, deps: AppDeps = {}): Promise<SpillwayApp> {
  const clock = deps.clock ?? systemClock;
  const scheduler = deps.scheduler ?? realScheduler;
  const logger = deps.logger ?? silentLogger;
  const log = logger.child({ component: 'app' });
  const protos = deps.protos ?? loadProtos().protos;
  const teardown = new Teardown();
  // A failed start-up undoes what was started, so an embedder (or a test) that catches the error is
  // not left with pollers and timers running.
  const failStart = async (err: unknown): Promise<never> => {
    await teardown.run();
    throw err;
  };

  // The publish path: desired state → validated snapshot → cache, and what Envoys have of it.
  const cache = new SnapshotCache();
  const events = new XdsEvents();
  const publisher = new Publisher(cache, protos, config.services, logger);
  const syncStatus = new SyncStatus({ clock, events, currentVersion: (t) => cache.current()?.types[t].version });
  teardown.add(() => syncStatus.close());
  publisher.onPublish((r) => {
    const snap = cache.current();
    if (!snap) return;
    for (const t of r.changed) syncStatus.notePublished(t, snap.types[t].version, clock.nowMs());
  });
  const first = publisher.publish();
  if (!first.ok) await failStart(new Error(`initial configuration does not validate:\n  ${first.errors.join('\n  ')}`));

  // Inputs: the Modal hostname's address, Modal's stats and autoscaler, Envoy's load.
  for (const s of config.services) {
    if (!s.modal || s.modal.connectAddress) continue;
    const resolve = deps.resolve ? { resolve: deps.resolve } : {};
    const w = new HostnameWatcher(s.modal.hostname, (ip) => publisher.setModalIp(s.name, ip), { scheduler, clock, logger, ...resolve });
    teardown.add(() => w.stop());
    await w.start();
  }
  const driven = config.services.filter((s) => s.modal && s.capacity);
  // Modal is looked up before anything listens: a missing credential or unknown function stops
  // start-up with a message naming the service.
  const modal = driven.length > 0 ? await startModal(config, driven, { clock, scheduler, logger, deps }).catch(failStart) : undefined;
  if (modal) teardown.add(() => modal.close());
  const lrs = createLrsService({
    clock,
    scheduler,
    logger,
    clusters: () => publisher.currentServices().map((s) => s.name),
    intervalMs: config.lrs.intervalMs,
  });
  teardown.add(() => lrs.close());

  // Decisions reach the publisher through the router, so an operator override can hold them back.
  const overrides = new OverrideStore(clock, scheduler);
  const router = new PlanRouter(publisher, overrides, logger);
  teardown.add(() => router.close());
  teardown.add(() => overrides.close());
  // Isolated: a reader's bug (admin feed, metrics) must not fail the controller's tick.
  const decisions = new Listeners<[string, Decision]>((err) => log.error({ error: errorMessage(err) }, 'decision listener failed'));
  const controller = modal
    ? startController(config, driven, modal, { clock, scheduler, logger, publisher, router, lrs, decisions, teardown })
    : undefined;

  // Envoys connect last, to a consistent snapshot and a push path that has already run.
  const adsService = withPreEncodedResponses(protos.envoy.service.discovery.v3.AggregatedDiscoveryService.service);
  if (deps.warmUp ?? true) {
    const w = await warmUpPushPath({ services: config.services, protos, service: adsService, clock });
    log.info(w, 'push path warmed up on simulated streams');
  }
  const ads = new AdsServer({ cache, events, clock, logger, protos });
  const server: grpc.Server = createXdsGrpcServer({ maxConnectionAgeMs: config.xds.maxConnectionAgeMs });
  // Resources are encoded once per version and shared by every stream's response (response-bodies.ts).
  server.addService(adsService, {
    StreamAggregatedResources: ads.streamAggregatedResources,
    DeltaAggregatedResources: ads.deltaAggregatedResources,
  });
  addLrsService(server, lrs, protos);
  teardown.add(async () => {
    ads.closeAll();
    await shutdownServer(server);
  });
  const xdsPort = await bindServer(server, config.xds.listen).catch(failStart);
  log.info(
    { xds: `${config.xds.listen.host}:${xdsPort}`, services: config.services.map((s) => s.name), controlled: driven.map((s) => s.name) },
    'Spillway serving ADS and LRS',
  );

  // Readers, from the side. Failing to bind them is logged, not fatal: steering traffic matters more
  // than watching it (a readiness probe on the admin port still notices).
  const read = createReadModel({
    clock,
    publisher,
    router,
    overrides,
    cache,
    syncStatus,
    load: lrs.view,
    poller: modal?.poller,
    controller,
    connectedStreams: () => ads.connectedStreams(),
    onDecision: (fn) => decisions.add(fn),
  });
  const onDecision = (fn: (service: string, d: Decision) => void): (() => void) => decisions.add(fn);
  const admin = await startAdmin({ config, read, publisher, router, scheduler, logger }).catch((err: unknown) => {
    log.error({ err: errorMessage(err) }, 'admin endpoint not started');
    return undefined;
  });
  if (admin) teardown.add(() => admin.stop());
  const metrics = createSpillwayMetrics({ read, events, syncStatus, publisher, poller: modal?.poller, onDecision });
  teardown.add(() => metrics.close());
  const metricsServer: MetricsServer | undefined = await startMetricsServer(config.metrics.listen, metrics, logger).catch(
    (err: unknown) => {
      log.error({ err: errorMessage(err) }, 'metrics endpoint not started');
      return undefined;
    },
  );
  if (metricsServer) teardown.add(() => metricsServer.stop());

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
    read,
    adminPort: admin?.port,
    admin,
    metricsPort: metricsServer?.port,
    onDecision,
    stop: async () => {
      // Stop deciding (and actuating) first: nothing should change while the servers drain.
      controller?.stop();
      await teardown.run((err) => log.warn({ err: errorMessage(err) }, 'shutdown step failed'));
    },
  };
}

interface Env {
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
}

function startModal(config: SpillwayConfig, driven: readonly ServiceConfig[], env: Env & { deps: AppDeps }): Promise<ModalSide> {
  return startModalSide({
    functions: driven.map((s) => ({
      service: s.name,
      appName: s.modal!.app,
      functionName: s.modal!.function,
      ...(s.modal!.environment ? { environment: s.modal!.environment } : {}),
    })),
    clock: env.clock,
    scheduler: env.scheduler,
    logger: env.logger,
    ...(env.deps.modalApi ? { api: env.deps.modalApi } : {}),
    ...(env.deps.modalSdk ? { sdk: env.deps.modalSdk } : {}),
    poll: { intervalMs: config.modalApi.pollIntervalMs, timeoutMs: config.modalApi.timeoutMs },
    autoscaler: { minIntervalMs: config.modalApi.autoscalerMinIntervalMs, reconcileIntervalMs: config.modalApi.reconcileIntervalMs },
  });
}

function startController(
  config: SpillwayConfig,
  driven: readonly ServiceConfig[],
  modal: ModalSide,
  env: Env & { publisher: Publisher; router: PlanRouter; lrs: LrsService; decisions: Listeners<[string, Decision]>; teardown: Teardown },
): CapacityController {
  const log = env.logger.child({ component: 'app' });
  const controller = new CapacityController({
    clock: env.clock,
    scheduler: env.scheduler,
    logger: env.logger,
    tickMs: config.controller.tickMs,
    services: driven.map((s) => ({ service: s.name, policy: s.capacity! })),
    readInputs: (service) => {
      const s = env.publisher.service(service);
      return s
        ? controllerInputsFor(s, {
            load: env.lrs.view,
            modalStatus: (name) => modal.poller.status(name),
            cordons: (name) => env.publisher.cordonsOf(name),
          })
        : undefined;
    },
    onDecision: (service, decision) => {
      const r = env.router.decision(service, decision);
      if (r && !r.ok) log.error({ service, errors: r.errors }, 'controller plan refused by validation');
      env.decisions.emit(service, decision);
    },
    autoscaler: modal.actuator,
  });
  controller.start();
  env.teardown.add(() => controller.stop());
  // Decide when an input arrives, not only on the tick: reaction is then bounded by the inputs.
  env.teardown.add(modal.poller.onSample(() => controller.nudge()));
  env.teardown.add(env.lrs.view.subscribe(() => controller.nudge()));
  return controller;
}
