// Starts the admin gRPC port: spillway.admin.v1.Admin, grpc.health.v1.Health and server reflection.
// Reads come from the domain read model; mutations go through the operator actions (the write side, or etcd for replicas).
// It hears of changes through notifications and never sits in the xDS path.
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { SpillwayConfig } from '../config/config-types.js';
import type { OperatorActions } from '../control/operator-actions.js';
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
  const healthTimer = every(opts.scheduler, opts.healthIntervalMs ?? 1_000, () => health.refresh());

  const { definition, protos } = loadAdminProtos();
  const server = new grpc.Server();
  server.addService(
    protos.spillway.admin.v1.Admin.service,
    createAdminHandlers({
      publisher: opts.publisher,
      actions: opts.actions,
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

function replicationHealth(read: ReadModel): { replication?: { degraded: string | undefined } } {
  const r = read.replication();
  return r ? { replication: { degraded: r.degraded } } : {};
}
