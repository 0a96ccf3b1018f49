// Starts the admin gRPC port: spillway.admin.v1.Admin, grpc.health.v1.Health and server reflection.
// Everything it shows is read from the side; it subscribes to change notifications and never sits
// in the xDS path.
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { Decision } from '../capacity/types.js';
import type { SpillwayConfig } from '../config/config-types.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { every, type Cancel, type Scheduler } from '../core/scheduler.js';
import { bindServer, shutdownServer } from '../xds/xds-grpc-server.js';
import { loadAdminProtos } from './admin-protos.js';
import { createAdminHandlers } from './admin-service.js';
import { edsVersionOf, hasConsistentSnapshot, stateSourcesFor, type AppReadModels } from './app-sources.js';
import { BearerAuth } from './auth.js';
import { AdminHealth } from './health-service.js';
import { StateFeed } from './state-feed.js';
import { buildServiceState, buildState, type StateCause } from './state-view.js';

export interface AdminOptions extends AppReadModels {
  config: SpillwayConfig;
  scheduler: Scheduler;
  logger?: Logger;
  onDecision(fn: (service: string, d: Decision) => void): () => void;
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
  const sources = stateSourcesFor(opts);
  const feed = new StateFeed((cause) => buildState(sources, cause));
  const poll = opts.config.modalApi;
  const health = new AdminHealth(
    () => ({
      consistentSnapshot: hasConsistentSnapshot(opts),
      maxInputAgeMs: Math.max(5_000, 3 * poll.pollIntervalMs + poll.timeoutMs),
      services: opts.publisher.currentServices().map((s) => ({
        name: s.name,
        controlled: opts.controller !== undefined && s.capacity !== undefined && s.modal !== undefined,
        mode: opts.controller?.current(s.name)?.mode,
        modalStatsAgeMs: opts.modal?.poller.status(s.name)?.ageMs,
      })),
    }),
    logger,
  );
  health.refresh();

  const changed = (cause: StateCause): void => {
    feed.notify(cause);
    health.refresh();
  };
  const unsubscribes: Array<() => void> = [
    opts.publisher.onPublish((r) => {
      if (r.changed.size > 0) changed('publish');
    }),
    opts.onDecision(() => changed('decision')),
    opts.overrides.onChange(() => changed('override')),
  ];
  const healthTimer: Cancel = every(opts.scheduler, opts.healthIntervalMs ?? 1_000, () => health.refresh());

  const { definition, protos } = loadAdminProtos();
  const server = new grpc.Server();
  server.addService(
    protos.spillway.admin.v1.Admin.service,
    createAdminHandlers({
      publisher: opts.publisher,
      router: opts.router,
      auth: new BearerAuth(opts.config.admin.token),
      feed,
      buildState: (cause, only) => buildState(sources, cause, only),
      buildServiceState: (name) => {
        const svc = opts.publisher.currentServices().find((s) => s.name === name);
        if (!svc) throw new Error(`unknown service ${name}`);
        return buildServiceState(sources, svc);
      },
      edsVersion: () => edsVersionOf(opts.cache),
      changed,
      logger,
    }),
  );
  health.addToServer(server);
  new ReflectionService(definition).addToServer(server);

  const stopAll = (): void => {
    healthTimer();
    for (const u of unsubscribes) u();
    feed.close();
  };
  let port: number;
  try {
    port = await bindServer(server, opts.config.admin.listen);
  } catch (err) {
    stopAll();
    throw err;
  }
  logger.child({ component: 'admin' }).info(
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
