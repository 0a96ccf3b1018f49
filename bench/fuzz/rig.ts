// The abuse suite's target: Spillway in its own process (so its memory is its own), secured the way
// this project recommends — xDS and LRS over mutual TLS with node identity bound to the certificate,
// reporters listed, admin over TLS with a token — with the capacity controller on, two real Envoys
// (SotW and delta) over mutual TLS, two in-house backends, the fake Modal, and real traffic flowing.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startEnvoy, type EnvoyHandle } from '../../tools/envoy/envoy-process.js';
import { startFakeModal, type FakeModal } from '../../tools/fake-modal/start-fake-modal.js';
import type { ClientTls } from '../../tools/fuzz/raw-grpc.js';
import type { Identity } from '../../tools/fuzz/run-cases.js';
import { waitFor } from '../../tools/wait-for.js';
import { startHttpBackend, type BackendHandle } from '../../tools/backends/http-backend.js';
import { issueCert, makeTestPki, type TestPki } from '../../tools/pki.js';
import { freePort } from '../../tools/ports.js';
import { REPO_ROOT } from '../../tools/repo.js';

export const TRUST_DOMAIN = 'spiffe://spillway.fuzz/node';
const SERVER_NAME = 'spillway.internal';
const MODAL_HOST = 'spillway-fuzz--echo.modal.run';
const ADMIN_TOKEN_ENV = 'SPILLWAY_FUZZ_ADMIN_TOKEN';

export interface RealTraffic {
  sent: number;
  ok: number;
  /** Anything but a 200 from an in-house backend, or a failed connection. */
  failed: number;
  byServer: Record<string, number>;
  firstFailure?: string;
}

export interface FuzzRig {
  xds: string;
  admin: string;
  adminToken: string;
  /** Client TLS for the admin port (server-side TLS; the token authorises). */
  adminTls: ClientTls;
  /** TLS as a client with no certificate (refused in the handshake). */
  anonymousTls: ClientTls;
  /** Identities the fuzzer may use: a certificate per node id. */
  identity(node: string): Identity;
  spillwayPid: number;
  envoys: EnvoyHandle[];
  inHouseEndpoints: string[];
  listenerUrl: string;
  logPath: string;
  metrics(): Promise<string>;
  traffic(): RealTraffic;
  close(): Promise<void>;
}

/** Starts everything and waits until both Envoys are synced and traffic flows. */
export async function startFuzzRig(opts: { trafficRps?: number } = {}): Promise<FuzzRig> {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-fuzz-'));
  const pki: TestPki = makeTestPki([SERVER_NAME]);
  const server = issueCert(pki, 'spillway', { dns: [SERVER_NAME], ips: ['127.0.0.1'], usage: 'server' });
  const certs = new Map<string, Identity>();
  const identity = (node: string): Identity => {
    let id = certs.get(node);
    if (!id) {
      const c = issueCert(pki, node, { uris: [`${TRUST_DOMAIN}/${node}`], usage: 'client' });
      id = { node, tls: { ca: pki.caPem, cert: c.certPem, key: c.keyPem, servername: SERVER_NAME } };
      certs.set(node, id);
    }
    return id;
  };
  const fake: FakeModal = await startFakeModal({
    functions: [{ appName: 'spillway-fuzz', functionName: 'echo', coldStartMs: 300, scaledownWindowMs: 4000 }],
    tlsNames: [MODAL_HOST],
  });
  const backends: BackendHandle[] = await Promise.all([startHttpBackend('inhouse-a'), startHttpBackend('inhouse-b')]);
  const listenerPort = await freePort();
  const adminToken = `fuzz-admin-${Math.random().toString(36).slice(2)}`;
  const configPath = join(dir, 'spillway.yaml');
  writeFileSync(
    configPath,
    stringify({
      xds: {
        listen: '127.0.0.1:0',
        tls: { cert_file: server.certPath, key_file: server.keyPath, client_ca_file: pki.caPath },
        node_identity: { san: 'uri', template: `${TRUST_DOMAIN}/{node_id}` },
      },
      lrs: { interval_ms: 500, reporters: ['envoy-*', 'fuzz-*'] },
      admin: { listen: '127.0.0.1:0', token_env: ADMIN_TOKEN_ENV, tls: { cert_file: server.certPath, key_file: server.keyPath } },
      metrics: { listen: '127.0.0.1:0' },
      controller: { tick_ms: 250 },
      modal_api: { poll_interval_ms: 300, timeout_ms: 1000, reconcile_interval_ms: 1000 },
      services: [
        {
          name: 'echo',
          listener: `127.0.0.1:${listenerPort}`,
          in_house: { endpoints: backends.map((b) => ({ address: '127.0.0.1', port: b.port, capacity: 8 })) },
          modal: {
            url: `https://${MODAL_HOST}:${new URL(fake.httpsUrl).port}`,
            connect_address: '127.0.0.1',
            app: 'spillway-fuzz',
            function: 'echo',
            max_inputs: 4,
            max_containers: 4,
            ca_bundle: fake.caPath,
          },
          capacity: { policy: 'default', in_house_service_time_ms: 100, modal_service_time_ms: 120, prewarm: { enabled: false } },
        },
      ],
    }),
  );

  const logPath = join(dir, 'spillway.log');
  const log = createWriteStream(logPath);
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--config', configPath], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      [ADMIN_TOKEN_ENV]: adminToken,
      MODAL_SERVER_URL: fake.controlUrl,
      MODAL_TOKEN_ID: 'ak-spillway-fuzz',
      MODAL_TOKEN_SECRET: 'as-spillway-fuzz',
      SPILLWAY_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => {
    log.write(b);
    if (out.length < 200_000) out += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => log.write(b));
  const ports = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`spillway exited during start:\n${out}`);
      const xds = /"xds":"127\.0\.0\.1:(\d+)"/.exec(out)?.[1];
      const admin = /"admin":"127\.0\.0\.1:(\d+)"/.exec(out)?.[1];
      const metrics = /"metrics":"http:\/\/127\.0\.0\.1:(\d+)\/metrics"/.exec(out)?.[1];
      return xds && admin && metrics ? { xds: Number(xds), admin: Number(admin), metrics: Number(metrics) } : undefined;
    },
    30_000,
    'spillway to announce its ports',
  );

  const envoys: EnvoyHandle[] = [];
  for (const apiType of ['GRPC', 'DELTA_GRPC'] as const) {
    const node = `envoy-${apiType === 'GRPC' ? 'sotw' : 'delta'}`;
    const c = issueCert(pki, `${node}-envoy`, { uris: [`${TRUST_DOMAIN}/${node}`], usage: 'client' });
    envoys.push(
      await startEnvoy({
        xdsPort: ports.xds,
        nodeId: node,
        apiType,
        tls: { certPath: c.certPath, keyPath: c.keyPath, caPath: pki.caPath, serverName: SERVER_NAME },
      }),
    );
  }
  const listenerUrl = `http://127.0.0.1:${listenerPort}/fuzz?ms=5`;
  await waitFor(async () => (await fetchOnce(listenerUrl)).status === 200, 30_000, 'traffic through Envoy');
  const metricsUrl = `http://127.0.0.1:${ports.metrics}/metrics`;

  // Real traffic: a new connection per request, so the kernel spreads them over both Envoys.
  const traffic: RealTraffic = { sent: 0, ok: 0, failed: 0, byServer: {} };
  const rps = opts.trafficRps ?? 20;
  const timer = setInterval(() => {
    traffic.sent++;
    void fetchOnce(listenerUrl).then((r) => {
      traffic.byServer[r.servedBy] = (traffic.byServer[r.servedBy] ?? 0) + 1;
      if (r.status === 200 && r.servedBy.startsWith('inhouse-')) traffic.ok++;
      else {
        traffic.failed++;
        traffic.firstFailure ??= `${r.status} ${r.servedBy}`;
      }
    });
  }, 1000 / rps);

  return {
    xds: `127.0.0.1:${ports.xds}`,
    admin: `127.0.0.1:${ports.admin}`,
    adminToken,
    adminTls: { ca: pki.caPem, servername: SERVER_NAME },
    anonymousTls: { ca: pki.caPem, servername: SERVER_NAME },
    identity,
    spillwayPid: child.pid!,
    envoys,
    inHouseEndpoints: backends.map((b) => `127.0.0.1:${b.port}`),
    listenerUrl,
    logPath,
    metrics: async () => (await fetch(metricsUrl)).text(),
    traffic: () => ({ ...traffic, byServer: { ...traffic.byServer } }),
    close: async () => {
      clearInterval(timer);
      await Promise.all(envoys.map((e) => e.stop()));
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await waitFor(() => child.exitCode !== null, 10_000, 'spillway to exit').catch(() => child.kill('SIGKILL'));
      }
      log.end();
      await Promise.all(backends.map((b) => b.close()));
      await fake.close();
      pki.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function fetchOnce(url: string): Promise<{ status: number; servedBy: string }> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, servedBy: String(res.headers['x-served-by'] ?? `status-${res.statusCode}`) }),
      );
    });
    req.on('error', (err) => resolve({ status: 0, servedBy: `error: ${err.message}` }));
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** Resident set now and at its peak (Linux /proc), in bytes. */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}
