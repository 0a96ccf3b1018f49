import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { loadAdminProtos } from '../../src/admin/admin-protos.js';
import { startSpillway, type AppDeps, type SpillwayApp } from '../../src/app/spillway-app.js';
import { configFrom, FREE_PORTS } from '../../tools/config-fixtures.js';
import { createLogger } from '../../src/core/logger.js';
import type { AdminClient } from '../../src/generated/spillway/admin/v1/Admin.js';
import type { HealthClient } from '../../src/generated/grpc/health/v1/Health.js';

/** Two services: echo (in-house + Modal, static policy) and plain (in-house only). Every port is 0. */
export function rawConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...FREE_PORTS,
    services: [
      {
        name: 'echo',
        listener: '127.0.0.1:20001',
        in_house: {
          endpoints: [
            { address: '10.0.0.1', port: 80, capacity: 4 },
            { address: '10.0.0.2', port: 80, capacity: 4 },
          ],
        },
        modal: { url: 'https://ws--echo.modal.run', connect_address: '192.0.2.1', app: 'a', function: 'f', max_containers: 2, share: 0.2 },
        capacity: { policy: 'static' },
      },
      { name: 'plain', listener: '127.0.0.1:20002', in_house: { endpoints: [{ address: '10.0.1.1', port: 80, capacity: 4 }] } },
    ],
    ...extra,
  };
}

export interface AdminRig {
  app: SpillwayApp;
  admin: AdminClient;
  health: HealthClient;
  /** Every log line the app wrote, parsed. */
  logs: Array<Record<string, unknown>>;
  /** The raw log text (to assert a secret never appears anywhere). */
  logText(): string;
  close(): Promise<void>;
}

export async function startAdminRig(
  opts: { raw?: Record<string, unknown>; env?: NodeJS.ProcessEnv; deps?: AppDeps } = {},
): Promise<AdminRig> {
  const config = configFrom(opts.raw ?? rawConfig(), opts.env ?? {});
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString('utf8');
      cb();
    },
  });
  const logger = createLogger({ level: 'debug', destination });
  const app = await startSpillway(config, { logger, ...opts.deps });
  const { protos } = loadAdminProtos();
  const address = `127.0.0.1:${app.adminPort}`;
  const admin = new protos.spillway.admin.v1.Admin(address, grpc.credentials.createInsecure());
  const health = new protos.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
  return {
    app,
    admin,
    health,
    get logs() {
      return text
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    logText: () => text,
    async close() {
      admin.close();
      health.close();
      await app.stop();
    },
  };
}

export function bearer(token: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

/** Promisifies a unary call and returns either the response or the gRPC error. */
export function unary<Req, Res>(
  fn: (req: Req, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown,
  req: Req,
  md: grpc.Metadata = new grpc.Metadata(),
): Promise<{ res?: Res; err?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    fn(req, md, (err, res) => resolve(err ? { err } : { res: res as Res }));
  });
}
