// Starts the admin gRPC port: spillway.admin.v1.Admin, Envoy's CSDS, grpc.health.v1.Health and
// server reflection. Reads come from the domain read model; mutations go through the operator
// actions (the write side, or etcd for replicas).
// It hears of changes through notifications and never sits in the xDS path.
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { SpillwayConfig } from '../config/config-types.js';
import type { OperatorActions } from '../control/operator-actions.js';
import type { Publisher } from '../control/publisher.js';
import type { ChangeCause, ReadModel } from '../control/read-model.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { every, type Scheduler } from '../core/scheduler.js';
import { LIMIT_PATHS } from '../config/security-config.js';
import type { AdminHandlers } from '../generated/spillway/admin/v1/Admin.js';
import { backstopBytes, refusalOf, refusingUnary, withBoundedRequests } from '../xds/bounded-requests.js';
import { bindServer, shutdownServer } from '../xds/grpc-server.js';
import { serverCredentials } from '../xds/server-tls.js';
import { loadAdminProtos } from './admin-protos.js';
import { createAdminHandlers } from './admin-service.js';
import { AuditLog } from './audit-log.js';
import { createCsdsHandlers } from './csds/csds-service.js';
import { AdminAuth } from './auth.js';
import { AdminHealth } from './health-service.js';
import { StateFeed } from './state-feed.js';
import { StatusPage } from './status-page/status-page.js';
import { buildServiceState, buildState } from './state-view.js';

export interface AdminOptions {
  config: SpillwayConfig;
  read: ReadModel;
  /** The services served now (what requests are validated against). */
  publisher: Publisher;
  /** Where the mutating calls go: this process's write side, or (replicas) etcd. */
  actions: OperatorActions;
  scheduler: Scheduler;
  logger?: Logger;
  /** How often health is re-judged (input staleness is a matter of time passing). Default 1 s. */
  healthIntervalMs?: number;
}

export interface AdminEndpoint {
  readonly port: number;
  readonly health: AdminHealth;
  readonly feed: StateFeed;
  /** The live status page; the HTTP server that carries it (the metrics port) routes to it. */
  readonly statusPage: StatusPage;
  stop(): Promise<void>;
  /** When the admin port's certificate expires (ms since the epoch); undefined in plaintext. */
  tlsNotAfterMs(): number | undefined;
}

export async function startAdmin(opts: AdminOptions): Promise<AdminEndpoint> {
  const logger = opts.logger ?? silentLogger;
  const { read } = opts;
  const feed = new StateFeed((cause) => buildState(read, cause));
  const poll = opts.config.modalApi;
  const health = new AdminHealth(
    () => ({
      consistentSnapshot: read.consistentSnapshot(),
      ...replicationHealth(read),
      maxInputAgeMs: Math.max(5_000, 3 * poll.pollIntervalMs + poll.timeoutMs),
      services: read.services().map((v) => ({
        name: v.name,
        controlled: v.controlled,
        mode: v.decision?.mode,
        modalStatsAgeMs: v.modalStats?.ageMs,
      })),
    }),
    logger,
  );
  health.refresh();

  const changed = (cause: ChangeCause): void => {
    feed.notify(cause);
    health.refresh();
  };
  const unsubscribe = read.onChange(changed);
  // Only Modal stats going stale changes health without an event, and only controller-driven services
  // have them (adding one needs a restart): without any, nothing needs re-judging on a timer.
  const timeDependent = opts.config.services.some((s) => s.modal && s.capacity);
  const healthTimer = timeDependent ? every(opts.scheduler, opts.healthIntervalMs ?? 1_000, () => health.refresh()) : () => {};

  const auth = new AdminAuth(opts.config.admin);
  const { definition, protos } = loadAdminProtos();
  const { admin } = opts.config;
  const maxMessageBytes = admin.limits.maxMessageBytes;
  const server = new grpc.Server({ 'grpc.max_receive_message_length': backstopBytes(maxMessageBytes) });
  server.addService(
    withBoundedRequests(protos.spillway.admin.v1.Admin.service, maxMessageBytes, LIMIT_PATHS.admin.maxMessageBytes),
    refusingHandlers(
      createAdminHandlers({
        publisher: opts.publisher,
        actions: opts.actions,
        auth,
        audit: new AuditLog(logger, () => read.nowMs()),
        limits: admin.limits,
        feed,
        buildState: (cause, only) => buildState(read, cause, only),
        buildServiceState: (name) => {
          const v = read.service(name);
          if (!v) throw new Error(`unknown service ${name}`);
          return buildServiceState(v, read.nowMs());
        },
        edsVersion: () => read.edsVersion(),
        changed,
        logger,
      }),
    ),
  );
  server.addService(
    withBoundedRequests(
      protos.envoy.service.status.v3.ClientStatusDiscoveryService.service,
      maxMessageBytes,
      LIMIT_PATHS.admin.maxMessageBytes,
    ),
    createCsdsHandlers({ auth, syncNodes: () => read.syncNodes(), logger }),
  );
  health.addToServer(server);
  new ReflectionService(definition).addToServer(server);

  const statusPage = new StatusPage({ read, feed, auth, scheduler: opts.scheduler, logger });
  const stopAll = (): void => {
    statusPage.close();
    healthTimer();
    unsubscribe();
    feed.close();
  };
  let port: number;
  let tls: ReturnType<typeof serverCredentials> | undefined;
  try {
    tls = serverCredentials(admin.tls, { path: 'admin.tls', scheduler: opts.scheduler, logger });
    port = await bindServer(server, admin.listen, tls.credentials);
  } catch (err) {
    tls?.close();
    stopAll();
    throw err;
  }
  const tlsDone = tls;
  logger.child({ component: 'admin' }).info(
    {
      admin: `${admin.listen.host}:${port}`,
      transport: !admin.tls ? 'plaintext' : admin.tls.requireClientCert ? 'mutual TLS' : 'TLS',
      mutations: admin.token ? `bearer token (${admin.tokenName})` : 'open',
      reads: admin.readToken ? `bearer token (${admin.readTokenName} or the admin token)` : 'open',
    },
    'admin gRPC serving (Admin, CSDS, Health, reflection)',
  );
  return {
    port,
    health,
    feed,
    statusPage,
    tlsNotAfterMs: () => tlsDone.notAfterMs(),
    async stop() {
      stopAll();
      tlsDone.close();
      await shutdownServer(server, 500);
    },
  };
}

/** The admin handlers, answering a request that was refused while decoding (too large, not protobuf) with its status. */
function refusingHandlers(h: AdminHandlers): AdminHandlers {
  return {
    ...h,
    GetState: refusingUnary(h.GetState),
    Cordon: refusingUnary(h.Cordon),
    SoftCordon: refusingUnary(h.SoftCordon),
    Uncordon: refusingUnary(h.Uncordon),
    Override: refusingUnary(h.Override),
    ClearOverride: refusingUnary(h.ClearOverride),
    WatchWeights(call) {
      const r = refusalOf(call.request);
      if (r) call.emit('error', { code: r.code, details: r.details });
      else h.WatchWeights(call);
    },
  };
}

function replicationHealth(read: ReadModel): { replication?: { degraded: string | undefined } } {
  const r = read.replication();
  return r ? { replication: { degraded: r.degraded } } : {};
}
