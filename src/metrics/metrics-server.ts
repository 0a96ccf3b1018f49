// Serves GET /metrics (Prometheus text format) on metrics.listen, and whatever other read-only
// pages the composition root routes here (the status page).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostPort } from '../core/host-port.js';
import { errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { SpillwayMetrics } from './spillway-metrics.js';

/** Answers a request and returns true, or returns false for a path it does not serve. */
export type HttpRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface MetricsServer {
  readonly port: number;
  stop(): Promise<void>;
}

export async function startMetricsServer(
  listen: HostPort,
  metrics: SpillwayMetrics,
  logger: Logger = silentLogger,
  routes: readonly HttpRoute[] = [],
): Promise<MetricsServer> {
  const log = logger.child({ component: 'metrics' });
  const server: Server = createServer((req, res) => {
    for (const route of routes) if (route(req, res)) return;
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(path === '/metrics' ? 405 : 404, { 'content-type': 'text/plain' }).end('see /metrics\n');
      return;
    }
    metrics.scrape().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (err: unknown) => {
        log.error({ err: errorMessage(err) }, 'metrics scrape failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('scrape failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot listen on ${listen.host}:${listen.port}: ${err.message}`)));
    server.listen(listen.port, listen.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info(
    { metrics: `http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${port}/metrics` },
    'Prometheus metrics serving',
  );
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
