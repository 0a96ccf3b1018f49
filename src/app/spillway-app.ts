// Composition root: builds the object graph from a validated config and starts serving. It owns no
// behaviour of its own. Data flows one way: inputs (config, Modal stats, LRS load, DNS) → capacity
// controller → plan router → publisher (build, validate) → snapshot cache → ADS streams → Envoy;
// admin and metrics read the domain read model from the side.
import type * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { startAdmin, type AdminEndpoint } from '../admin/start-admin.js';
import type { Decision } from '../capacity/types.js';
import type { ServiceConfig, SpillwayConfig } from '../config/config-types.js';
import { CapacityController, type LoadReportRequests } from '../control/capacity-controller.js';
import { controllerInputsFor } from '../control/controller-inputs.js';
import { LocalOperatorActions } from '../control/operator-actions.js';
import { OverrideStore } from '../control/override-store.js';
import { PlanRouter } from '../control/plan-router.js';
import { Publisher } from '../control/publisher.js';
import { ModalCostMeter } from '../control/modal-cost.js';
import { createReadModel, type ReadModel } from '../control/read-model.js';
import { loadResume, seedControl, seedPublisher, type Resumed } from '../control/resume.js';
import { captureOperatingState, StateRecorder } from '../control/state-recorder.js';
import type { RestorePlan } from '../control/state-restore.js';
import { FileStateStore, type StateStore } from '../control/state-store.js';
import { warmUpPushPath } from '../control/warm-up.js';
import { systemClock, type Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { Listeners } from '../core/listeners.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { realScheduler, type Scheduler } from '../core/scheduler.js';
import { Teardown } from '../core/teardown.js';
import { releaseYoungGeneration } from '../core/start-up-heap.js';
import { HostHealthTracker } from '../control/host-health-tracker.js';
import { HostProber } from '../discovery/host-prober.js';
import { createDnsClient, type DnsClient } from '../discovery/dns-client.js';
import { InHouseFleet } from '../discovery/in-house-fleet.js';
import { ModalAddressWatcher } from '../discovery/modal-addresses.js';
import { startReplica, type Replica } from '../ha/replica.js';
import { addLrsService, createLrsService, type LrsService } from '../lrs/lrs-server.js';
import type { LoadView } from '../lrs/load-view.js';
import { startMetricsServer, type MetricsServer } from '../metrics/metrics-server.js';
import { createSpillwayMetrics, TlsPort } from '../metrics/spillway-metrics.js';
import type { ModalSdkOptions } from '../modal/modal-sdk.js';
import { startModalSide, type ModalSide, type ModalSideOptions } from '../modal/start-modal-side.js';
import type { ModalApi } from '../modal/types.js';
import { loadProtos, type SpillwayProtos } from '../protos/load-protos.js';
import { LIMIT_PATHS } from '../config/security-config.js';
import { CLUSTER_MAX_REQUESTS } from '../resources/clusters.js';
import { AdsServer } from '../xds/ads-server.js';
import { withBoundedRequests } from '../xds/bounded-requests.js';
import { bindServer, createXdsGrpcServer, shutdownServer } from '../xds/grpc-server.js';
import { serverCredentials } from '../xds/server-tls.js';
import { XdsGate } from '../xds/xds-gate.js';
import { withPreEncodedResponses } from '../xds/response-bodies.js';
import { SnapshotCache } from '../xds/snapshot-cache.js';
import { SyncStatus } from '../xds/sync-status.js';
import { XdsEvents } from '../xds/xds-events.js';

export interface AppDeps {
  clock?: Clock;
  scheduler?: Scheduler;
  logger?: Logger;
  /** DNS lookups (default: Node's resolver pointed at discovery.dns_servers, or the system's). */
  dns?: DnsClient;
  /** Modal API override (tests); default: the official SDK. */
  modalApi?: ModalApi;
  modalSdk?: ModalSdkOptions;
  /** Loaded protos (default: loaded once per process). */
  protos?: SpillwayProtos;
  /** Where the operating state is kept; default a file in config.state.dir (nothing kept without one). */
  stateStore?: StateStore;
  /** Lookup timeout and backoff for Modal functions (tests shorten them). */
  modalLookup?: ModalSideOptions['lookup'];
  /** Monotonic milliseconds for the replica's lease deadline (default performance.now). */
  monotonicMs?: () => number;
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
  /** The endpoint sources of each service that has any. */
  readonly fleets: ReadonlyMap<string, InHouseFleet>;
  /** Limits and node identity on the xDS port (ADS and LRS). */
  readonly gate: XdsGate;
  /** Re-reads xds.tls's files now (they are also re-read every reload_interval_ms); false when nothing changed. */
  reloadXdsTls(): boolean;
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
  /** What was taken back from the saved operating state at start (undefined: nothing was saved, or no state.dir). */
  readonly restored: RestorePlan | undefined;
  /** Saves the operating state on change; undefined without a state store. */
  readonly stateRecorder: StateRecorder | undefined;
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
  try {
    return await start(config, deps);
  } catch (err) {
    // A caller that catches is not left with the young generation held (core/start-up-heap.ts).
    releaseYoungGeneration();
    throw err;
  }
}

async function start(config: SpillwayConfig, deps: AppDeps): Promise<SpillwayApp> {
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
  // The young generation stays held past start-up while no Envoy is connected, so an idle Spillway
  // keeps it small; the first xDS stream lets it grow as serving needs (core/start-up-heap.ts).
  const offFirstStream = events.on((e) => {
    if (e.kind !== 'stream-opened') return;
    offFirstStream();
    releaseYoungGeneration();
  });
  const publisher = new Publisher(cache, protos, config.services, logger);
  const syncStatus = new SyncStatus({ clock, events, currentVersion: (t) => cache.current()?.types[t].version });
  teardown.add(() => syncStatus.close());
  publisher.onPublish((r) => {
    const snap = cache.current();
    if (!snap) return;
    for (const t of r.changed) syncStatus.notePublished(t, snap.types[t].version, clock.nowMs());
  });
  // Resume: what was saved before a restart and still holds goes into the first snapshot, so a
  // reconnecting Envoy is sent the very versions it runs and a new one the plan in force.
  // Replicas keep their operating state in etcd (the group's); a local file would bring back what
  // the group cleared while this replica was down.
  const store = config.ha ? undefined : (deps.stateStore ?? (config.state ? new FileStateStore(config.state.dir) : undefined));
  let resumed: Resumed | undefined = store ? await loadResume(store, config.services, clock.nowMs(), logger) : undefined;
  seedPublisher(publisher, resumed?.plan);
  let first = publisher.publish();
  if (!first.ok && resumed) {
    log.error({ errors: first.errors }, 'the restored operating state does not validate with this configuration; starting without it');
    resumed = undefined;
    seedPublisher(publisher, undefined);
    first = publisher.publish();
  }
  if (!first.ok) await failStart(new Error(`initial configuration does not validate:\n  ${first.errors.join('\n  ')}`));

  // Inputs: the Modal hostname's addresses, discovered in-house endpoints, Modal's stats and
  // autoscaler, Envoy's load. Each input change reaches the controller at once (nudge). A replica
  // publishes the addresses its group's leader resolved (so every replica serves the same ones).
  const dns = deps.dns ?? createDnsClient({ servers: config.discovery.dnsServers, timeoutMs: config.discovery.dnsTimeoutMs });
  const ttl = { minTtlMs: config.discovery.minTtlMs, maxTtlMs: config.discovery.maxTtlMs };
  let nudgeController: () => void = () => {};
  const discoveryChanged = new Listeners<[]>((err) => log.error({ error: errorMessage(err) }, 'discovery listener failed'));
  const resolved = new Map<string, { hostname: string; addresses: readonly string[] }>();
  let onModalAddresses = (service: string, _hostname: string, addresses: readonly string[]): void =>
    void publisher.setModalAddresses(service, addresses);
  // First answers are awaited only briefly (firstAnswers below): a failing resolver must not keep xDS
  // from binding, and a restored Modal address serves meanwhile.
  const firsts: Promise<void>[] = [];
  for (const s of config.services) {
    if (!s.modal || s.modal.connectAddress) continue;
    const host = s.modal.hostname;
    const w = new ModalAddressWatcher(
      host,
      (addresses) => {
        resolved.set(s.name, { hostname: host, addresses });
        onModalAddresses(s.name, host, addresses);
      },
      { scheduler, clock, logger, dns, ttl },
    );
    teardown.add(() => w.stop());
    const first = w.start();
    if (publisher.modalAddresses(s.name).length === 0) firsts.push(first);
  }
  const fleets = new Map<string, InHouseFleet>();
  for (const s of config.services) {
    const fleet = InHouseFleet.forService(s, {
      clock,
      scheduler,
      logger,
      dns,
      discovery: config.discovery,
      onEndpoints: (endpoints) => {
        const r = publisher.setDiscovered(s.name, endpoints);
        if (!r.ok) log.error({ service: s.name, errors: r.errors }, 'discovered endpoints refused by validation');
        nudgeController();
      },
      onState: () => discoveryChanged.emit(),
    });
    if (!fleet) continue;
    fleets.set(s.name, fleet);
    teardown.add(() => fleet.stop());
    firsts.push(fleet.start());
  }
  await firstAnswers(firsts, scheduler);
  const driven = config.services.filter((s) => s.modal && s.capacity);
  // Nothing waits for Modal: functions are looked up in the background (retried while Modal's API
  // cannot be reached) and each service serves its fail-safe until its function is found.
  const modal = driven.length > 0 ? startModal(config, driven, { clock, scheduler, logger, deps }) : undefined;
  if (modal) teardown.add(() => modal.close());
  // One gate for the xDS port: ADS and LRS streams share its limits and identity rule.
  const gate = new XdsGate({
    limits: config.xds.limits,
    ...(config.xds.nodeIdentity ? { nodeIdentity: config.xds.nodeIdentity } : {}),
    reporters: config.lrs.reporters,
    clock,
    logger,
  });
  const lrs = createLrsService({
    clock,
    scheduler,
    logger,
    clusters: () => publisher.currentServices().map((s) => s.name),
    intervalMs: config.lrs.intervalMs,
    limits: {
      minWindowMs: config.lrs.limits.minReportIntervalMs,
      maxWindowMs: config.lrs.limits.maxReportIntervalMs,
      maxRps: config.lrs.limits.maxRequestsPerSecond,
      maxInProgress: CLUSTER_MAX_REQUESTS,
    },
    gate,
  });
  teardown.add(() => lrs.close());
  // Capacity follows health: which in-house hosts Envoy really sends to, from per-endpoint load.
  // Spillway's own probe (in_house.probe) moves capacity within its interval, ahead of the next report.
  const prober = new HostProber({
    services: () => publisher.currentServices(),
    endpointsOf: (service) => publisher.inHouseOf(service),
    clock,
    scheduler,
    logger,
    onChange: () => {
      hostHealth.update();
      nudgeController();
    },
  });
  const hostHealth = new HostHealthTracker(lrs.view, publisher, logger, prober);
  teardown.add(lrs.view.subscribe(() => hostHealth.update()));
  prober.start();
  teardown.add(() => prober.stop());

  // Decisions reach the publisher through the router, so an operator override can hold them back.
  const overrides = new OverrideStore(clock, scheduler);
  const router = new PlanRouter(publisher, overrides, logger);
  teardown.add(() => router.close());
  teardown.add(() => overrides.close());
  // Isolated: a reader's bug (admin feed, metrics) must not fail the controller's tick.
  const decisions = new Listeners<[string, Decision]>((err) => log.error({ error: errorMessage(err) }, 'decision listener failed'));
  const decided = new Listeners<[]>((err) => log.error({ error: errorMessage(err) }, 'decision listener failed'));
  // The load decisions are made from: this process's Envoys, or (replicas) the whole group's.
  let load: LoadView = lrs.view;
  // Where the controller's decisions go: the plan router, or (replicas) etcd, from which every replica publishes.
  let sink: { decision(service: string, d: Decision): void; decided(service: string, d: Decision): void } = {
    decision: (service, decision) => {
      const r = router.decision(service, decision);
      if (r && !r.ok) log.error({ service, errors: r.errors }, 'controller plan refused by validation');
      decisions.emit(service, decision);
    },
    decided: () => decided.emit(),
  };
  // A second look at demand: this process's Envoys are asked for an early load report. In replica
  // mode every replica asks its own at once, so the LRS server's Envoy cap counts the whole group.
  let groupEnvoys: (() => number) | undefined;
  const askEarlyReports = (afterMs: number): void => {
    lrs.followUp(afterMs, groupEnvoys?.());
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
        // The Envoys reporting to this process (in replica mode, the leader's own; followers ask
        // theirs when they read the decision from etcd).
        loadReports: { followUp: (_service, afterMs) => askEarlyReports(afterMs) },
        teardown,
      })
    : undefined;
  if (controller) nudgeController = () => controller.nudge();
  seedControl(resumed?.plan, { overrides, router, controller });

  // Replicas: the group's state is read from etcd and applied before anything is served.
  let replica: Replica | undefined;
  if (config.ha) {
    replica = await startReplica({
      ha: config.ha,
      replicaId: haReplicaId(config.ha),
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
      onLoadFollowUp: (_service, afterMs) => askEarlyReports(afterMs),
      ...(deps.monotonicMs ? { monotonicMs: deps.monotonicMs } : {}),
    }).catch(failStart);
    const r = replica;
    teardown.add(() => r.stop());
    load = r.load;
    groupEnvoys = () => r.groupEnvoys();
    sink = {
      decision: (service, d) => r.decided(service, d),
      decided: (service, d) => {
        r.decided(service, d);
        decided.emit();
      },
    };
    onModalAddresses = (service, host, addresses) => r.modalResolved(service, host, addresses);
    for (const [service, a] of resolved) r.modalResolved(service, a.hostname, a.addresses);
  }
  if (controller) {
    // Decide when an input arrives, not only on the tick: reaction is then bounded by the inputs.
    teardown.add(modal!.poller.onSample(() => controller.nudge()));
    teardown.add(load.subscribe(() => controller.nudge()));
    // A replica's controller runs only while it leads.
    if (!replica) controller.start();
  }

  // The operating state is saved on every change, a few times a second at most.
  const stateRecorder = store
    ? new StateRecorder({
        store,
        clock,
        scheduler,
        logger,
        ...(resumed ? { initial: resumed.state } : {}),
        capture: (previous, nowMs) =>
          captureOperatingState(
            {
              services: () => publisher.currentServices(),
              assignedPlan: (s) => publisher.assignedPlan(s),
              planSource: (s) => router.source(s),
              cordonsOf: (s) => publisher.cordonsOf(s),
              override: (s) => overrides.get(s),
              controllerMemory: (s) => controller?.memory(s),
              modalAddresses: (s) => publisher.modalAddresses(s),
            },
            previous,
            nowMs,
          ),
      })
    : undefined;
  // Envoys connect last, to a consistent snapshot and a push path that has already run.
  // Resources are encoded once per version and shared by every stream's response (response-bodies.ts).
  const adsService = withPreEncodedResponses(protos.envoy.service.discovery.v3.AggregatedDiscoveryService.service);
  if (deps.warmUp ?? true) {
    const w = await warmUpPushPath({ services: config.services, protos, service: adsService, clock });
    log.info(w, 'push path warmed up on simulated streams');
  }
  const ads = new AdsServer({ cache, events, clock, logger, protos, gate });
  const maxMessageBytes = config.xds.limits.maxMessageBytes;
  const server: grpc.Server = createXdsGrpcServer({ maxConnectionAgeMs: config.xds.maxConnectionAgeMs, maxMessageBytes });
  server.addService(withBoundedRequests(adsService, maxMessageBytes, LIMIT_PATHS.xds.maxMessageBytes), {
    StreamAggregatedResources: ads.streamAggregatedResources,
    DeltaAggregatedResources: ads.deltaAggregatedResources,
  });
  addLrsService(server, lrs, protos, { maxMessageBytes, limitPath: LIMIT_PATHS.xds.maxMessageBytes });
  teardown.add(async () => {
    ads.closeAll();
    await shutdownServer(server);
  });
  // TLS files are read now: a missing or unusable one stops start-up, naming the field.
  const xdsTls = await Promise.resolve()
    .then(() => serverCredentials(config.xds.tls, { path: 'xds.tls', scheduler, logger }))
    .catch(failStart);
  teardown.add(() => xdsTls.close());
  const xdsPort = await bindServer(server, config.xds.listen, xdsTls.credentials).catch(failStart);
  // Only now Modal: loading its SDK and looking functions up must not delay the ports.
  modal?.startLookups();
  // Saving starts once this Spillway serves: one that fails to start (its port taken by another
  // on the same state directory, say) must not overwrite the state it was handed.
  if (stateRecorder) {
    const changed = (): void => stateRecorder.changed();
    const offs = [publisher.onPublish(changed), overrides.onChange(changed), decided.add(changed)];
    teardown.add(async () => {
      offs.forEach((off) => off());
      await stateRecorder.close();
    });
    stateRecorder.changed();
  }
  log.info(
    {
      xds: `${config.xds.listen.host}:${xdsPort}`,
      transport: !config.xds.tls ? 'plaintext' : config.xds.tls.requireClientCert ? 'mutual TLS' : 'TLS',
      nodeIdentity: config.xds.nodeIdentity ? `${config.xds.nodeIdentity.san} SAN ${config.xds.nodeIdentity.template}` : 'not bound',
      services: config.services.map((s) => s.name),
      controlled: driven.map((s) => s.name),
    },
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
    modal,
    // Replicas show the group's decision (the same on every replica), not this process's controller.
    controller: replica ? undefined : controller,
    cost,
    connectedStreams: () => ads.connectedStreams(),
    endpointSources: (name) => fleets.get(name)?.states() ?? [],
    onDiscovery: (fn) => discoveryChanged.add(fn),
    subscription: (streamId, typeUrl) => ads.subscription(streamId, typeUrl),
    replicaId: replicaIdOf(config, xdsPort),
    onDecision: (fn) => decisions.add(fn),
    ...(replica ? { replication: replica } : {}),
    probes: prober,
  });
  const onDecision = (fn: (service: string, d: Decision) => void): (() => void) => decisions.add(fn);
  const actions = replica ? replica.actions : new LocalOperatorActions(publisher, router);
  const admin = await startAdmin({ config, read, publisher, actions, scheduler, logger }).catch((err: unknown) => {
    log.error({ err: errorMessage(err) }, 'admin endpoint not started');
    return undefined;
  });
  if (admin) teardown.add(() => admin.stop());
  // The metrics port starts below, serving these metrics; its certificate is read at scrape time.
  let metricsNotAfterMs = (): number | undefined => undefined;
  const metrics = createSpillwayMetrics({
    read,
    events,
    syncStatus,
    publisher,
    modal,
    onDecision,
    onRefused: (fn) => gate.onRefused(fn),
    ...(stateRecorder ? { stateSaves: () => stateRecorder.stats } : {}),
    certificates: () =>
      (
        [
          [TlsPort.Xds, xdsTls.notAfterMs()],
          [TlsPort.Admin, admin?.tlsNotAfterMs()],
          [TlsPort.Metrics, metricsNotAfterMs()],
        ] as const
      ).flatMap(([port, notAfterMs]) => (notAfterMs === undefined ? [] : [{ port, notAfterMs }])),
  });
  teardown.add(() => metrics.close());
  const pages = admin ? [(req: IncomingMessage, res: ServerResponse) => admin.statusPage.handle(req, res)] : [];
  const metricsServer: MetricsServer | undefined = await startMetricsServer(config.metrics.listen, metrics, logger, pages, {
    ...(config.metrics.tls ? { tls: config.metrics.tls } : {}),
    scheduler,
  }).catch((err: unknown) => {
    log.error({ err: errorMessage(err) }, 'metrics endpoint not started');
    return undefined;
  });
  if (metricsServer) {
    metricsNotAfterMs = () => metricsServer.tlsNotAfterMs();
    teardown.add(() => metricsServer.stop());
  }
  replica?.join({ xds: `${config.xds.listen.host}:${xdsPort}`, admin: admin ? `${config.admin.listen.host}:${admin.port}` : '' });

  // A permanent Modal answer (no credentials, unknown function) on the first lookup stops start-up,
  // naming the service; anything transient is retried while the service serves its fail-safe.
  if (modal) await modal.firstLookups.catch(failStart);

  return {
    config,
    xdsPort,
    cache,
    events,
    ads,
    publisher,
    syncStatus,
    lrs,
    fleets,
    gate,
    reloadXdsTls: () => xdsTls.reload(),
    controller,
    replica,
    modal,
    overrides,
    router,
    read,
    restored: resumed?.plan,
    stateRecorder,
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

/** A replica's name in its group: ha.replica_id, else hostname-pid. */
const haReplicaId = (ha: NonNullable<SpillwayConfig['ha']>): string => ha.replicaId ?? `${hostname()}-${process.pid}`;

/**
 * This instance as operators and Envoys know it: with `ha:`, its name in the group; otherwise its
 * host and xDS port (unique per host, stable across restarts).
 */
function replicaIdOf(config: SpillwayConfig, xdsPort: number): string {
  if (config.ha) return haReplicaId(config.ha);
  const host = ['0.0.0.0', '::', '127.0.0.1', '::1', 'localhost'].includes(config.xds.listen.host) ? hostname() : config.xds.listen.host;
  return `${host}:${xdsPort}`;
}

interface Env {
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
}

function startModal(config: SpillwayConfig, driven: readonly ServiceConfig[], env: Env & { deps: AppDeps }): ModalSide {
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
    // An attempt is an auth call and a lookup, each of which the SDK retries: allow it three calls' time.
    lookup: { timeoutMs: 3 * config.modalApi.timeoutMs, ...env.deps.modalLookup },
    autoscaler: {
      minIntervalMs: config.modalApi.autoscalerMinIntervalMs,
      reconcileIntervalMs: config.modalApi.reconcileIntervalMs,
      callTimeoutMs: config.modalApi.timeoutMs,
    },
    deferLookups: true,
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
    loadReports: LoadReportRequests;
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
            modalStatus: (name) => modal.status(name),
            cordons: (name) => env.publisher.cordonsOf(name),
            inHouse: (name) => env.publisher.inHouseOf(name),
            hostHealth: (name) => env.publisher.hostHealthOf(name),
            reportIntervalMs: config.lrs.intervalMs,
          })
        : undefined;
    },
    onDecision: env.onDecision,
    onDecided: env.onDecided,
    autoscaler: modal.actuator,
    loadReports: env.loadReports,
  });
  env.teardown.add(() => controller.stop());
  return controller;
}

/** How long start-up waits for first DNS answers and endpoint files before serving without them. */
const FIRST_ANSWER_WAIT_MS = 500;

/**
 * Waits for the first answers of the Modal hostnames and endpoint sources, so a fresh Envoy is sent
 * them at once, but never long: what has not answered by then is published when it does.
 */
async function firstAnswers(firsts: readonly Promise<void>[], scheduler: Scheduler): Promise<void> {
  if (firsts.length === 0) return;
  let cancel: () => void = () => {};
  await Promise.race([Promise.all(firsts), new Promise<void>((r) => (cancel = scheduler.after(FIRST_ANSWER_WAIT_MS, r)))]);
  cancel();
}
