import * as grpc from '@grpc/grpc-js';
import type { HostPort } from '../core/host-port.js';
import { realScheduler, type Scheduler } from '../core/scheduler.js';
import { backstopBytes } from './bounded-requests.js';

/**
 * The gRPC server Envoys connect to (ADS, LRS). Keepalive detects dead peers behind middleboxes;
 * max_connection_age makes long-lived Envoys rebalance across replicas after a scale-up.
 */
export function createXdsGrpcServer(opts: { maxConnectionAgeMs: number; maxMessageBytes: number }): grpc.Server {
  const options: grpc.ServerOptions = {
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
    // A backstop only: messages over the configured limit are refused by name (bounded-requests.ts).
    'grpc.max_receive_message_length': backstopBytes(opts.maxMessageBytes),
  };
  if (opts.maxConnectionAgeMs > 0) {
    options['grpc.max_connection_age_ms'] = opts.maxConnectionAgeMs;
    options['grpc.max_connection_age_grace_ms'] = 60_000;
  }
  return new grpc.Server(options);
}

/** Binds and resolves to the bound port (port 0 picks a free one). Plaintext unless credentials say otherwise. */
export function bindServer(
  server: grpc.Server,
  listen: HostPort,
  credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(),
): Promise<number> {
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${listen.port}`, credentials, (err, port) => {
      if (err) reject(new Error(`cannot listen on ${host}:${listen.port}: ${err.message}`));
      else resolve(port);
    });
  });
}

export function shutdownServer(server: grpc.Server, graceMs = 2000, scheduler: Scheduler = realScheduler): Promise<void> {
  return new Promise((resolve) => {
    const cancel = scheduler.after(graceMs, () => {
      server.forceShutdown();
      resolve();
    });
    server.tryShutdown(() => {
      cancel();
      resolve();
    });
  });
}
