// The chaos topology: the fake Modal (TLS web side and the gRPC API the real SDK calls, with its
// fault switches), two in-house hosts with few slots and a bounded queue (an overloaded host answers
// its own 503, which counts as a failure), Spillway with the capacity controller and a state
// directory, and a real Envoy. Spillway runs either as its own process (`spillway serve`, so it can
// be killed with -9 and sent SIGHUP) or in this process (so its DNS resolver can be replaced).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { startSpillway, type SpillwayApp } from '../../src/app/spillway-app.js';
import { createLogger } from '../../src/core/logger.js';
import type { DnsClient } from '../../src/discovery/dns-client.js';
import { startInHouseBackend, type InHouseBackend } from '../../tools/backends/in-house-backend.js';
import { configFrom } from '../../tools/config-fixtures.js';
import { startEnvoy, type EnvoyHandle } from '../../tools/envoy/envoy-process.js';
import type { Faults } from '../../tools/fake-modal/faults.js';
import { startFakeModal, type FakeModal } from '../../tools/fake-modal/start-fake-modal.js';
import { freePort } from '../../tools/ports.js';
import { startTcpProxy, type TcpProxy } from '../../tools/tcp-proxy.js';
import { waitFor } from '../../tools/wait-for.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SERVICE = 'echo';
export const MODAL_APP = 'spillway-chaos';
export const MODAL_HOST = `${MODAL_APP}--${SERVICE}.modal.run`;
const credentials = { tokenId: 'ak-spillwaychaos', tokenSecret: 'as-spillwaychaossecret' };

/** The topology every cell uses: in-house serves 40 rps flat out (8 slots × 5 rps), 32 rps at its 0.8 target. */
export const TOPOLOGY = { inHouseHosts: 2, slots: 4, queue: 32, serviceMs: 200, modalMaxInputs: 4, modalMaxContainers: 10 } as const;

export interface ChaosRigOptions {
  /** 'child': `spillway serve` as its own process; 'in-process': startSpillway here (its resolver can be replaced). */
  spillway: 'child' | 'in-process';
  apiType?: 'GRPC' | 'DELTA_GRPC';
  /** The raw `capacity:` mapping; default policy with the timing below. */
  capacity?: Record<string, unknown>;
  lrsIntervalMs?: number;
  tickMs?: number;
  pollIntervalMs?: number;
  modalTimeoutMs?: number;
  /** A cuttable TCP link between Envoy and Spillway (ADS and LRS). */
  link?: boolean;
  /** In-process only: resolve the Modal hostname with this instead of pinning connect_address. */
  dns?: DnsClient;
  /** Faults the fake Modal has before Spillway starts. */
  faults?: Faults;
  /** Start Spillway only when asked (rig.spillway.start()): Envoy comes up first, waiting for it. */
  deferSpillway?: boolean;
  /** The Modal CA bundle path Envoy is told (default the fake's CA). */
  caBundle?: string;
  /** Lookup backoff for the in-process Spillway (ms); the child uses the defaults. */
  lookupBackoff?: { baseMs: number; maxMs: number };
  /** A static Modal share instead of the controller (capacity policy static). */
  staticShare?: number;
  /** Child only: how node runs the CLI (default tsx on src/cli.ts; compiled-spillway.ts gives the built one). */
  cliArgs?: string[];
}

export interface SpillwayUnderTest {
  readonly mode: 'child' | 'in-process';
  start(): Promise<void>;
  /** kill -9 (child) or an abrupt stop with no final save (in-process). */
  kill9(): Promise<void>;
  stop(): Promise<void>;
  /** Child only: SIGHUP, as an operator does after editing the config file. */
  sighup(): void;
  /** Every JSON log line so far (all runs). */
  logLines(): Array<Record<string, unknown>>;
  /** In-process only: the running app. */
  app(): SpillwayApp | undefined;
}

export interface ChaosRig {
  envoy: EnvoyHandle;
  fake: FakeModal;
  inHouse: InHouseBackend[];
  spillway: SpillwayUnderTest;
  proxy: TcpProxy | undefined;
  /** The service's URL through Envoy. */
  url: (path?: string) => string;
  xdsPort: number;
  adminPort: number;
  configPath: string;
  stateDir: string;
  /** The raw config Spillway runs (as written to configPath). */
  raw: Record<string, any>;
  /** Starts a new Envoy with the same node id (after stopping the old one). */
  restartEnvoy(patch?: (bootstrap: Record<string, unknown>) => void): Promise<EnvoyHandle>;
  close(): Promise<void>;
}

export async function startChaosRig(o: ChaosRigOptions): Promise<ChaosRig> {
  const closers: Array<() => Promise<void>> = [];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c().catch(() => {});
  };
  try {
    const dir = mkdtempSync(join(tmpdir(), 'spillway-chaos-'));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    const fake = await startFakeModal({
      credentials,
      functions: [
        {
          appName: MODAL_APP,
          functionName: SERVICE,
          maxInputs: TOPOLOGY.modalMaxInputs,
          targetInputs: 3,
          maxContainers: TOPOLOGY.modalMaxContainers,
          coldStartMs: 1000,
          scaledownWindowMs: 20_000,
        },
      ],
      tlsNames: [MODAL_HOST],
    });
    closers.push(() => fake.close());
    if (o.faults) fake.setFaults(o.faults);
    const inHouse: InHouseBackend[] = [];
    for (let i = 0; i < TOPOLOGY.inHouseHosts; i++) {
      const b = await startInHouseBackend({
        name: `in-house-${i + 1}`,
        slots: TOPOLOGY.slots,
        queue: TOPOLOGY.queue,
        serviceMs: TOPOLOGY.serviceMs,
      });
      inHouse.push(b);
      closers.push(() => b.close());
    }
    const [listenerPort, xdsPort, adminPort, metricsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const stateDir = join(dir, 'state');
    const raw = {
      xds: { listen: `127.0.0.1:${xdsPort}` },
      admin: { listen: `127.0.0.1:${adminPort}` },
      metrics: { listen: `127.0.0.1:${metricsPort}` },
      lrs: { interval_ms: o.lrsIntervalMs ?? 1000 },
      controller: { tick_ms: o.tickMs ?? 500 },
      modal_api: { poll_interval_ms: o.pollIntervalMs ?? 1000, timeout_ms: o.modalTimeoutMs ?? 2000, reconcile_interval_ms: 5000 },
      state: { dir: stateDir },
      services: [
        {
          name: SERVICE,
          listener: `127.0.0.1:${listenerPort}`,
          in_house: { endpoints: inHouse.map((b) => ({ address: '127.0.0.1', port: b.port, capacity: TOPOLOGY.slots })) },
          modal: {
            url: `https://${MODAL_HOST}:${new URL(fake.httpsUrl).port}`,
            ...(o.dns ? {} : { connect_address: '127.0.0.1' }),
            app: MODAL_APP,
            function: SERVICE,
            max_inputs: TOPOLOGY.modalMaxInputs,
            max_containers: TOPOLOGY.modalMaxContainers,
            ca_bundle: o.caBundle ?? fake.caPath,
            ...(o.staticShare !== undefined ? { share: o.staticShare } : {}),
          },
          capacity:
            o.staticShare !== undefined
              ? { policy: 'static' }
              : { policy: 'default', in_house_service_time_ms: TOPOLOGY.serviceMs, modal_service_time_ms: 220, ...o.capacity },
        },
      ],
    };
    const configPath = join(dir, 'spillway.yaml');
    writeFileSync(configPath, stringify(raw));

    const spillway =
      o.spillway === 'child'
        ? childSpillway(configPath, fake.controlUrl, o.cliArgs ?? ['--import', 'tsx', 'src/cli.ts'])
        : inProcessSpillway(raw, fake.controlUrl, o.dns, o.lookupBackoff);
    closers.push(() => spillway.stop());
    let proxy: TcpProxy | undefined;
    if (o.link) {
      proxy = await startTcpProxy({ host: '127.0.0.1', port: xdsPort });
      closers.push(() => proxy!.close());
    }
    if (!o.deferSpillway) await spillway.start();

    const nodeId = `envoy-chaos-${listenerPort}`;
    const envoyOpts = { xdsPort: proxy?.port ?? xdsPort, nodeId, apiType: o.apiType ?? 'GRPC' } as const;
    let envoy = await startEnvoy(envoyOpts);
    closers.push(() => envoy.stop());
    const base = `http://127.0.0.1:${listenerPort}`;
    if (!o.deferSpillway) await waitFor(async () => (await fetch(`${base}/?ms=1`)).ok, 30_000, 'traffic through Envoy');
    const rig: ChaosRig = {
      envoy,
      fake,
      inHouse,
      spillway,
      proxy,
      url: (path = `/work?ms=${TOPOLOGY.serviceMs}`) => `${base}${path}`,
      xdsPort,
      adminPort,
      configPath,
      stateDir,
      raw,
      restartEnvoy: async (patch) => {
        await envoy.stop();
        envoy = await startEnvoy({ ...envoyOpts, ...(patch ? { patch } : {}) });
        rig.envoy = envoy;
        return envoy;
      },
      close,
    };
    return rig;
  } catch (err) {
    await close();
    throw err;
  }
}

/** `spillway serve` as a user runs it, credentials and Modal's address from the environment. */
function childSpillway(configPath: string, modalUrl: string, cliArgs: string[]): SpillwayUnderTest {
  let child: ChildProcess | undefined;
  let out = '';
  const exited = (c: ChildProcess): Promise<void> =>
    c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', () => r()));
  return {
    mode: 'child',
    async start() {
      const c = spawn(process.execPath, [...cliArgs, 'serve', '--config', configPath], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          MODAL_SERVER_URL: modalUrl,
          MODAL_TOKEN_ID: credentials.tokenId,
          MODAL_TOKEN_SECRET: credentials.tokenSecret,
          MODAL_CONFIG_PATH: '/dev/null',
          SPILLWAY_LOG_LEVEL: 'info',
        },
      });
      c.stdout?.on('data', (b: Buffer) => (out += b.toString()));
      c.stderr?.on('data', (b: Buffer) => (out += b.toString()));
      child = c;
    },
    async kill9() {
      if (!child) return;
      const c = child;
      c.kill('SIGKILL');
      await exited(c);
      child = undefined;
    },
    async stop() {
      if (!child) return;
      const c = child;
      c.kill('SIGTERM');
      await Promise.race([exited(c), new Promise((r) => setTimeout(r, 5000))]);
      c.kill('SIGKILL');
      child = undefined;
    },
    sighup() {
      child?.kill('SIGHUP');
    },
    logLines: () => parseLines(out),
    app: () => undefined,
  };
}

function inProcessSpillway(
  raw: Record<string, unknown>,
  modalUrl: string,
  dns: DnsClient | undefined,
  lookupBackoff: { baseMs: number; maxMs: number } | undefined,
): SpillwayUnderTest {
  let app: SpillwayApp | undefined;
  let out = '';
  const logger = createLogger({
    level: 'info',
    destination: new Writable({
      write(c: Buffer, _e, cb) {
        out += c.toString();
        cb();
      },
    }),
  });
  return {
    mode: 'in-process',
    async start() {
      app = await startSpillway(configFrom(raw), {
        logger,
        modalSdk: { credentials, serverUrl: modalUrl },
        ...(dns ? { dns } : {}),
        ...(lookupBackoff ? { modalLookup: { backoff: lookupBackoff } } : {}),
      });
    },
    async kill9() {
      throw new Error('kill -9 needs the child-process Spillway');
    },
    async stop() {
      const a = app;
      app = undefined;
      await a?.stop();
    },
    sighup() {
      throw new Error('SIGHUP needs the child-process Spillway');
    },
    logLines: () => parseLines(out),
    app: () => app,
  };
}

function parseLines(text: string): Array<Record<string, unknown>> {
  return text.split('\n').flatMap((l) => {
    if (!l.startsWith('{')) return [];
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}
