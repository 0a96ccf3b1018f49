// Composition root: builds the object graph from a validated config and starts serving. It owns no
// behaviour of its own. Data flows one way: inputs (config, Modal stats, LRS load, DNS) → capacity
// controller → plan router → publisher (build, validate) → snapshot cache → ADS streams → Envoy;
// admin and metrics read the domain read model from the side.
import type * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { startAdmin, type AdminEndpoint } from '../admin/start-admin.js';
import type { Decision } from '../capacity/types.js';
import type { ServiceConfig, SpillwayConfig } from '../config/config-types.js';
import { CapacityController } from '../control/capacity-controller.js';
import { controllerInputsFor } from '../control/controller-inputs.js';
import { LocalOperatorActions } from '../control/operator-actions.js';
import { OverrideStore } from '../control/override-store.js';
import { PlanRouter } from '../control/plan-router.js';
import { Publisher } from '../control/publisher.js';
import { ModalCostMeter } from '../control/modal-cost.js';
import { createReadModel, type ReadModel } from '../control/read-model.js';
import { systemClock, type Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { Listeners } from '../core/listeners.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { realScheduler, type Scheduler } from '../core/scheduler.js';
import { Teardown } from '../core/teardown.js';
import { HostnameWatcher, type ResolveFn } from '../discovery/hostname-watcher.js';
import { startReplica, type Replica } from '../ha/replica.js';
import { addLrsService, createLrsService, type LrsService } from '../lrs/lrs-server.js';
import type { LoadView } from '../lrs/load-view.js';
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
  /** Monotonic milliseconds for the replica's lease deadline (default performance.now). */
  monotonicMs?: () => number;
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
  /** Present when at least one service is driven by the capacity controller (with `ha:`, it runs only while this replica leads). */
  readonly controller: CapacityController | undefined;
  /** This replica's place in its group (`ha:` in the config); undefined for a single Spillway. */
  readonly replica: Replica | undefined;
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

  // Inputs: the Modal hostname's address, Modal's stats and autoscaler, Envoy's load. A replica
  // publishes the address its group's leader resolved (so every replica serves the same one).
  const resolved = new Map<string, { hostname: string; ip: string }>();
  let onModalIp = (service: string, _hostname: string, ip: string): void => void publisher.setModalIp(service, ip);
  for (const s of config.services) {
    if (!s.modal || s.modal.connectAddress) continue;
    const host = s.modal.hostname;
    const resolve = deps.resolve ? { resolve: deps.resolve } : {};
    const w = new HostnameWatcher(
      host,
      (ip) => {
        resolved.set(s.name, { hostname: host, ip });
        onModalIp(s.name, host, ip);
      },
      { scheduler, clock, logger, ...resolve },
    );
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
  // The load decisions are made from: this process's Envoys, or (replicas) the whole group's.
  let load: LoadView = lrs.view;
  // Where the controller's decisions go: the plan router, or (replicas) etcd, from which every replica publishes.
  let sink: { decision(service: string, d: Decision): void; decided(service: string, d: Decision): void } = {
    decision: (service, decision) => {
      const r = router.decision(service, decision);
      if (r && !r.ok) log.error({ service, errors: r.errors }, 'controller plan refused by validation');
      decisions.emit(service, decision);
    },
    decided: () => {},
  };
  const controller = modal
    ? createController(config, driven, modal, {
        clock,
        scheduler,
        logger,
        publisher,
        load: () => load,
        onDecision: (service, d) => sink.decision(service, d),
        onDecided: (service, d) => sink.decided(service, d),
        teardown,
      })
    : undefined;

  // Replicas: the group's state is read from etcd and applied before anything is served.
  let replica: Replica | undefined;
  if (config.ha) {
    replica = await startReplica({
      ha: config.ha,
      replicaId: config.ha.replicaId ?? `${hostname()}-${process.pid}`,
      configHash: createHash('sha256').update(JSON.stringify(config.services)).digest('hex').slice(0, 16),
      clock,
      scheduler,
      logger,
      publisher,
      router,
      lrs: lrs.view,
      lrsIntervalMs: config.lrs.intervalMs,
      controller,
      actuator: modal?.actuator,
      memoryIntervalMs: config.controller.tickMs,
      onDecision: (service, d) => decisions.emit(service, d),
      ...(deps.monotonicMs ? { monotonicMs: deps.monotonicMs } : {}),
    }).catch(failStart);
    const r = replica;
    teardown.add(() => r.stop());
    load = r.load;
    sink = { decision: (service, d) => r.decided(service, d), decided: (service, d) => r.decided(service, d) };
    onModalIp = (service, host, ip) => r.modalResolved(service, host, ip);
    for (const [service, a] of resolved) r.modalResolved(service, a.hostname, a.ip);
  }
  if (controller) {
    // Decide when an input arrives, not only on the tick: reaction is then bounded by the inputs.
    teardown.add(modal!.poller.onSample(() => controller.nudge()));
    teardown.add(load.subscribe(() => controller.nudge()));
    // A replica's controller runs only while it leads.
    if (!replica) controller.start();
  }

  // Envoys connect last, to a consistent snapshot.
  const ads = new AdsServer({ cache, events, clock, logger, protos });
  const server: grpc.Server = createXdsGrpcServer({ maxConnectionAgeMs: config.xds.maxConnectionAgeMs });
  // Resources are encoded once per version and shared by every stream's response (response-bodies.ts).
  server.addService(withPreEncodedResponses(protos.envoy.service.discovery.v3.AggregatedDiscoveryService.service), {
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

  // Live Modal cost: the container count of every stats sample at the service's price.
  const cost = modal
    ? new ModalCostMeter(
        clock,
        driven.map((s) => ({ service: s.name, pricePerContainerSecond: s.modal!.pricePerContainerSecond })),
      )
    : undefined;
  if (modal && cost) teardown.add(modal.poller.onSample((sample) => cost.observe(sample)));

  // Readers, from the side. Failing to bind them is logged, not fatal: steering traffic matters more
  // than watching it (a readiness probe on the admin port still notices).
  const read = createReadModel({
    clock,
    publisher,
    router,
    overrides,
    cache,
    syncStatus,
    load,
    poller: modal?.poller,
    // Replicas show the group's decision (the same on every replica), not this process's controller.
    controller: replica ? undefined : controller,
    cost,
    connectedStreams: () => ads.connectedStreams(),
    onDecision: (fn) => decisions.add(fn),
    ...(replica ? { replication: replica } : {}),
  });
  const onDecision = (fn: (service: string, d: Decision) => void): (() => void) => decisions.add(fn);
  const actions = replica ? replica.actions : new LocalOperatorActions(publisher, router);
  const admin = await startAdmin({ config, read, publisher, actions, scheduler, logger }).catch((err: unknown) => {
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
  replica?.join({ xds: `${config.xds.listen.host}:${xdsPort}`, admin: admin ? `${config.admin.listen.host}:${admin.port}` : '' });

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
    replica,
    modal,
    overrides,
    router,
    read,
    adminPort: admin?.port,
    admin,
    metricsPort: metricsServer?.port,
    onDecision,
    stop: async () => {
      // Stop deciding (and actuating) first: nothing should change while the servers drain. A replica
      // then leaves its group at once, so another takes over without waiting out the lease.
      controller?.stop();
      await replica?.stop();
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

function createController(
  config: SpillwayConfig,
  driven: readonly ServiceConfig[],
  modal: ModalSide,
  env: Env & {
    publisher: Publisher;
    load: () => LoadView;
    onDecision: (service: string, d: Decision) => void;
    onDecided: (service: string, d: Decision) => void;
    teardown: Teardown;
  },
): CapacityController {
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
            load: env.load(),
            modalStatus: (name) => modal.poller.status(name),
            cordons: (name) => env.publisher.cordonsOf(name),
          })
        : undefined;
    },
    onDecision: env.onDecision,
    onDecided: env.onDecided,
    autoscaler: modal.actuator,
  });
  env.teardown.add(() => controller.stop());
  return controller;
}
