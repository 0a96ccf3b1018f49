// Starts the admin gRPC port: spillway.admin.v1.Admin, grpc.health.v1.Health and server reflection.
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
import { BearerAuth } from './auth.js';
import { AdminHealth } from './health-service.js';
import { StateFeed } from './state-feed.js';
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
  // Only Modal stats going stale changes health without an event, and only controller-driven services
  // have them (adding one needs a restart): without any, nothing needs re-judging on a timer.
  const timeDependent = opts.config.services.some((s) => s.modal && s.capacity);
  const healthTimer = timeDependent ? every(opts.scheduler, opts.healthIntervalMs ?? 1_000, () => health.refresh()) : () => {};

  const { definition, protos } = loadAdminProtos();
  const server = new grpc.Server();
  server.addService(
    protos.spillway.admin.v1.Admin.service,
    createAdminHandlers({
      publisher: opts.publisher,
      router: opts.router,
      auth: new BearerAuth(opts.config.admin.token),
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
  health.addToServer(server);
  new ReflectionService(definition).addToServer(server);

  const stopAll = (): void => {
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
      'admin gRPC serving (Admin, Health, reflection)',
    );
  return {
    port,
    health,
    feed,
    async stop() {
      stopAll();
      await shutdownServer(server, 500);
    },
  };
}
