// Serves GET /metrics (Prometheus text format) on metrics.listen, and whatever other read-only
// pages the composition root routes here (the status page): plain HTTP, or HTTPS with metrics.tls,
// whose files are followed as they rotate (new handshakes get the new certificate).
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { TlsFilesConfig } from '../config/security-config.js';
import type { HostPort } from '../core/host-port.js';
import type { Scheduler } from '../core/scheduler.js';
import { ReloadingCertificates } from '../xds/server-tls.js';
import { errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { SpillwayMetrics } from './spillway-metrics.js';

/** Answers a request and returns true, or returns false for a path it does not serve. */
export type HttpRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface MetricsServer {
  readonly port: number;
  /** When the port's certificate expires (ms since the epoch); undefined in plaintext. */
  tlsNotAfterMs(): number | undefined;
  stop(): Promise<void>;
}

/**
 * With a client CA whose certificates are asked for but not required (require_client_cert: false),
 * TLS lets a client with no certificate through, and one whose certificate does not verify too. The
 * second is refused here: a certificate offered is one the operator's CA must have signed.
 */
function refusingUntrustedClients(handle: RequestListener): RequestListener {
  return (req, res) => {
    const socket = req.socket as TLSSocket;
    if (!socket.authorized && Object.keys(socket.getPeerCertificate()).length > 0) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('client certificate not signed by metrics.tls.client_ca_file\n');
      return;
    }
    handle(req, res);
  };
}

export interface MetricsServerOptions {
  /** HTTPS with these files (mutual TLS with a client CA); plain HTTP without. */
  tls?: TlsFilesConfig;
  /** Drives the certificate re-reads (tls.reload_interval_ms). */
  scheduler?: Scheduler;
}

export async function startMetricsServer(
  listen: HostPort,
  metrics: SpillwayMetrics,
  logger: Logger = silentLogger,
  routes: readonly HttpRoute[] = [],
  opts: MetricsServerOptions = {},
): Promise<MetricsServer> {
  const log = logger.child({ component: 'metrics' });
  const handle: RequestListener = (req, res) => {
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
  };
  // Files are read now: a missing or unusable one is refused here, naming the field.
  const certs = opts.tls
    ? new ReloadingCertificates(opts.tls, { path: 'metrics.tls', logger, ...(opts.scheduler ? { scheduler: opts.scheduler } : {}) })
    : undefined;
  const secureContext = (c: ReloadingCertificates): { cert: Buffer; key: Buffer; ca?: Buffer } => {
    const { cert, key, ca } = c.material();
    return { cert, key, ...(ca ? { ca } : {}) };
  };
  const server: Server = certs
    ? createHttpsServer(
        {
          ...secureContext(certs),
          requestCert: opts.tls?.clientCaFile !== undefined,
          rejectUnauthorized: opts.tls?.requireClientCert ?? false,
        },
        refusingUntrustedClients(handle),
      )
    : createServer(handle);
  // A rotation on disk: new handshakes use the new files; open connections keep theirs.
  if (certs)
    certs.addIdentityCertificateListener(() => (server as ReturnType<typeof createHttpsServer>).setSecureContext(secureContext(certs)));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new Error(`cannot listen on ${listen.host}:${listen.port}: ${err.message}`)));
      server.listen(listen.port, listen.host, () => resolve());
    });
  } catch (err) {
    certs?.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const scheme = certs ? 'https' : 'http';
  log.info(
    {
      metrics: `${scheme}://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${port}/metrics`,
      transport: !opts.tls ? 'plaintext' : opts.tls.requireClientCert ? 'mutual TLS' : 'TLS',
    },
    'Prometheus metrics serving',
  );
  return {
    port,
    tlsNotAfterMs: () => certs?.notAfterMs(),
    stop: () =>
      new Promise<void>((resolve) => {
        certs?.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
