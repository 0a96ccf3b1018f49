// Starts the admin gRPC port: spillway.admin.v1.Admin, Envoy's CSDS, grpc.health.v1.Health and
// server reflection.
// Reads come from the domain read model; mutations go to the write side (publisher, plan router).
// It hears of changes through notifications and never sits in the xDS path.
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { SpillwayConfig } from '../config/config-types.js';
import type { PlanRouter } from '../control/plan-router.js';
import type { Publisher } from '../control/publisher.js';
import type { ChangeCause, ReadModel } from '../control/read-model.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { every, type Scheduler } from '../core/scheduler.js';
import { bindServer, shutdownServer } from '../xds/grpc-server.js';
import { loadAdminProtos } from './admin-protos.js';
import { createAdminHandlers } from './admin-service.js';
import { createCsdsHandlers } from './csds/csds-service.js';
import { AdminAuth } from './auth.js';
import { AdminHealth } from './health-service.js';
import { StateFeed } from './state-feed.js';
import { StatusPage } from './status-page/status-page.js';
import { buildServiceState, buildState } from './state-view.js';

export interface AdminOptions {
  config: SpillwayConfig;
  read: ReadModel;
  /** The write side the mutating calls go through. */
  publisher: Publisher;
  router: PlanRouter;
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
}

export async function startAdmin(opts: AdminOptions): Promise<AdminEndpoint> {
  const logger = opts.logger ?? silentLogger;
  const { read } = opts;
  const feed = new StateFeed((cause) => buildState(read, cause));
  const poll = opts.config.modalApi;
  const health = new AdminHealth(
    () => ({
      consistentSnapshot: read.consistentSnapshot(),
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
  const healthTimer = every(opts.scheduler, opts.healthIntervalMs ?? 1_000, () => health.refresh());

  const auth = new AdminAuth({ mutationToken: opts.config.admin.token });
  const { definition, protos } = loadAdminProtos();
  const server = new grpc.Server();
  server.addService(
    protos.spillway.admin.v1.Admin.service,
    createAdminHandlers({
      publisher: opts.publisher,
      router: opts.router,
      auth,
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
  );
  server.addService(
    protos.envoy.service.status.v3.ClientStatusDiscoveryService.service,
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
  try {
    port = await bindServer(server, opts.config.admin.listen);
  } catch (err) {
    stopAll();
    throw err;
  }
  logger
    .child({ component: 'admin' })
    .info(
      { admin: `${opts.config.admin.listen.host}:${port}`, auth: opts.config.admin.token ? 'bearer token' : 'none' },
      'admin gRPC serving (Admin, CSDS, Health, reflection)',
    );
  return {
    port,
    health,
    feed,
    statusPage,
    async stop() {
      stopAll();
      await shutdownServer(server, 500);
    },
  };
}
