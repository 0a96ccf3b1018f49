// In-process entry point of the fake Modal: gRPC control side, HTTP and HTTPS web side, one shared state.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../src/core/clock.js';
import { systemClock } from '../../src/core/clock.js';
import { realScheduler, type Scheduler } from '../../src/core/scheduler.js';
import { makeTestPki, type TestPki } from '../pki.js';
import { startControlServer } from './control-server.js';
import { FakeModalState, type FakeFunctionSpec, type FakeModalStateView } from './fake-modal-state.js';
import type { Faults } from './faults.js';
import type { RateLimit } from './token-bucket.js';
import { createUpgradeHandler, createWebHandler } from './web-server.js';

export interface FakeModalOptions {
  /** Functions the fake serves. Default: one, app "spillway-demo", function "web". */
  functions?: readonly FakeFunctionSpec[];
  /** Bind address; default 127.0.0.1. Ports default to 0 (ephemeral). */
  host?: string;
  controlPort?: number;
  httpPort?: number;
  httpsPort?: number;
  /** Credentials the control side accepts; when absent any credentials are accepted. */
  credentials?: { tokenId: string; tokenSecret: string };
  /** TLS material for the HTTPS side; default a fresh CA and a cert for localhost, 127.0.0.1 and tlsNames. */
  tls?: { certPem: string; keyPem: string; caPath: string };
  /** Extra DNS names for the generated certificate (e.g. the docker-compose service name). */
  tlsNames?: readonly string[];
  /** 303 threshold; Modal's is 150 s. */
  redirectAfterMs?: number;
  /** Workspace rate limit for web requests (429 past it); Modal's default for a new account is 200/s with a 5× burst. */
  rateLimit?: RateLimit;
  /** Service time of a request that names none with ?ms=. Default 0. */
  defaultServiceMs?: number;
  clock?: Clock;
  scheduler?: Scheduler;
  random?: () => number;
}

export interface FakeModal {
  /** Set MODAL_SERVER_URL to this. */
  controlUrl: string;
  /** The web endpoint over plain HTTP. */
  httpUrl: string;
  /** The web endpoint over TLS: what Envoy's Modal locality should point at. */
  httpsUrl: string;
  /** CA that signed the HTTPS certificate; give it to Envoy's upstream TLS context. */
  caPath: string;
  setFaults(faults: Faults): void;
  /** Replaces the workspace rate limit (the bucket starts full). */
  setRateLimit(limit: RateLimit): void;
  state(): FakeModalStateView;
  /** A deploy: resets every function's autoscaler to its static settings. */
  redeploy(): void;
  close(): Promise<void>;
}

export async function startFakeModal(opts: FakeModalOptions = {}): Promise<FakeModal> {
  const clock = opts.clock ?? systemClock;
  const scheduler = opts.scheduler ?? realScheduler;
  const host = opts.host ?? '127.0.0.1';
  const state = new FakeModalState(opts.functions ?? [{ appName: 'spillway-demo', functionName: 'web' }], clock, scheduler, opts.rateLimit);
  let pki: TestPki | undefined;
  const tls = opts.tls ?? (pki = makeTestPki(['localhost', ...(opts.tlsNames ?? [])]));
  const handler = createWebHandler({
    state,
    redirectAfterMs: opts.redirectAfterMs ?? 150_000,
    defaultServiceMs: opts.defaultServiceMs ?? 0,
    random: opts.random ?? Math.random,
  });
  const http = createHttpServer(handler);
  const https = createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, handler);
  const upgrade = createUpgradeHandler(state);
  http.on('upgrade', upgrade);
  https.on('upgrade', upgrade);
  const httpPort = await listen(http, host, opts.httpPort ?? 0);
  const httpsPort = await listen(https, host, opts.httpsPort ?? 0);
  const urlHost = host === '0.0.0.0' ? '127.0.0.1' : host;
  const httpsUrl = `https://${urlHost}:${httpsPort}`;
  const control = await startControlServer({
    state,
    host,
    port: opts.controlPort ?? 0,
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    webUrl: () => httpsUrl,
  });
  return {
    controlUrl: control.url,
    httpUrl: `http://${urlHost}:${httpPort}`,
    httpsUrl,
    caPath: tls.caPath,
    setFaults: (f) => state.setFaults(f),
    setRateLimit: (l) => state.rateLimiter.set(l),
    state: () => state.view(),
    redeploy: () => state.redeploy(),
    async close() {
      state.close();
      await Promise.all([control.close(), closeServer(http), closeServer(https)]);
      pki?.cleanup();
    },
  };
}

function listen(server: HttpServer | HttpsServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: HttpServer | HttpsServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
