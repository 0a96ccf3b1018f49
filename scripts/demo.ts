// `npm run demo`: the whole topology on this machine, on Spillway's built-in defaults.
// Fake Modal (TLS web side + the control API the real SDK talks to), three in-house backends with
// limited concurrency, Spillway, a real Envoy, and the load generator running ramp → burst → drain.
// Prints a live line per second, then a summary, and writes a chart. Ctrl-C stops everything.
// `--replicas N` runs N Spillway replicas on a local etcd instead of one (Envoy knows them all).
import type { LoadSummary, SecondRecord } from '../tools/loadgen/load-recorder.js';
import { runningModalShare, type ConfigDump } from '../tools/envoy/config-dump.js';
import { findEnvoyBin } from '../tools/envoy/envoy-bin.js';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { DEFAULT_CONFIG_YAML } from '../src/config/default-config.js';
import { loadConfig } from '../src/config/load-config.js';
import { findEtcdBin } from '../tools/etcd/etcd-bin.js';
import { renderChart, type ChartPoint } from './demo/chart.js';
import { screenshotStatusPage } from './demo/status-screenshot.js';
import { startProcess, stopAll } from './demo/processes.js';
import {
  BACKEND_FLAGS,
  FAKE_MODAL_CONTROL_PORT,
  FAKE_MODAL_FLAGS,
  FAKE_MODAL_HTTP_PORT,
  LOADGEN_DEFAULTS,
  LOADGEN_FLAGS,
} from './demo/topology.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.tmp/demo');
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: String(LOADGEN_DEFAULTS.durationS) },
    'peak-rps': { type: 'string', default: String(LOADGEN_DEFAULTS.peakRps) },
    'base-rps': { type: 'string', default: String(LOADGEN_DEFAULTS.baseRps) },
    // A picture of the live status page, taken this many seconds into the load (README's screenshot).
    screenshot: { type: 'string' },
    'screenshot-at': { type: 'string', default: '60' },
    replicas: { type: 'string', default: '1' },
  },
});
const durationS = Number(values.duration);
const replicas = Number(values.replicas);
if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw new Error('--replicas must be 1 to 5');

// Ports come from the built-in config, so the demo and `spillway serve` can never disagree.
const config = loadConfig();
const service = config.services[0]!;
const modal = service.modal!;
const ENVOY_ADMIN = 'http://127.0.0.1:9901';

function envoyBin(): string {
  if (!process.env['ENVOY_BIN']) execFileSync('bash', [join(root, 'scripts/setup-envoy.sh')], { stdio: 'inherit' });
  return findEnvoyBin();
}

function etcdBin(): string {
  if (!process.env['ETCD_BIN']) execFileSync('bash', [join(root, 'scripts/setup-etcd.sh')], { stdio: 'inherit' });
  return findEtcdBin();
}

/** Replica i's ports: the first one keeps the built-in ones (so `spillway watch` and envoy/envoy.yaml work unchanged). */
const replicaPorts = (i: number): { xds: number; admin: number; metrics: number } => ({
  xds: config.xds.listen.port + 10 * i,
  admin: config.admin.listen.port + 100 * i,
  metrics: config.metrics.listen.port + 100 * i,
});
const ETCD_CLIENT_PORT = 12379;
const ETCD_PEER_PORT = 12380;

/** Starts etcd and the replicas; returns the Envoy bootstrap that lists every replica. */
async function startReplicas(node: string, tsx: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const dataDir = join(out, 'etcd');
  rmSync(dataDir, { recursive: true, force: true });
  const url = `http://127.0.0.1:${ETCD_CLIENT_PORT}`;
  const peer = `http://127.0.0.1:${ETCD_PEER_PORT}`;
  startProcess(
    'etcd',
    etcdBin(),
    ['--name', 'demo', '--data-dir', dataDir, '--listen-client-urls', url, '--advertise-client-urls', url, '--listen-peer-urls', peer]
      .concat(['--initial-advertise-peer-urls', peer, '--initial-cluster', `demo=${peer}`, '--log-level', 'warn'])
      .concat(['--auto-compaction-mode', 'periodic', '--auto-compaction-retention', '5m']),
    { cwd: root, logPath: join(out, 'etcd.log') },
  );
  await waitUntil('etcd', async () => (await fetch(`${url}/health`)).ok);
  const base = parse(DEFAULT_CONFIG_YAML) as Record<string, any>;
  for (let i = 0; i < replicas; i++) {
    const p = replicaPorts(i);
    const file = join(out, `spillway-${i + 1}.yaml`);
    writeFileSync(
      file,
      stringify({
        ...base,
        xds: { listen: `127.0.0.1:${p.xds}` },
        admin: { listen: `127.0.0.1:${p.admin}` },
        metrics: { listen: `127.0.0.1:${p.metrics}` },
        ha: { etcd: { endpoints: [url] }, prefix: '/spillway/demo', lease_ttl_s: 5, replica_id: `replica-${i + 1}` },
      }),
    );
    const m = startProcess(`spillway-${i + 1}`, node, [...tsx, 'src/cli.ts', 'serve', '--config', file], {
      cwd: root,
      logPath: join(out, `spillway-${i + 1}.log`),
      env,
    });
    console.log(`demo: replica-${i + 1} (pid ${m.child.pid}): xDS ${p.xds}, admin ${p.admin}, metrics ${p.metrics}`);
  }
  const bootstrap = parse(readFileSync(join(root, 'envoy/envoy.yaml'), 'utf8')) as Record<string, any>;
  const xds = bootstrap['static_resources'].clusters.find((c: { name: string }) => c.name === 'spillway_xds');
  xds.load_assignment.endpoints[0].lb_endpoints = Array.from({ length: replicas }, (_, i) => ({
    endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: replicaPorts(i).xds } } },
  }));
  const path = join(out, 'envoy-replicas.yaml');
  writeFileSync(path, stringify(bootstrap));
  return path;
}

async function waitUntil(what: string, cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`demo: timed out waiting for ${what} (logs in ${out})`);
}

type LoadRecord = SecondRecord | LoadSummary;

async function modalShareInEnvoy(): Promise<number> {
  const dump = (await (await fetch(`${ENVOY_ADMIN}/config_dump?include_eds`)).json()) as ConfigDump;
  return runningModalShare(dump, service.name);
}

async function fakeModalState(): Promise<{ containers: number; containerSeconds: number; started: number }> {
  const s = (await (await fetch(`http://127.0.0.1:${FAKE_MODAL_HTTP_PORT}/_fake/state`)).json()) as {
    functions: Array<{ stats: { runners: number }; billing: { containerSeconds: number; containersStarted: number } }>;
  };
  const f = s.functions[0]!;
  return { containers: f.stats.runners, containerSeconds: f.billing.containerSeconds, started: f.billing.containersStarted };
}

/** Spillway's own live cost figures for the service, from its Prometheus endpoint. */
async function spillwayCost(): Promise<{ total: number; perHour: number } | undefined> {
  const { host, port } = config.metrics.listen;
  const text = await (await fetch(`http://${host}:${port}/metrics`)).text();
  const read = (name: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{service="${service.name}"}`));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : undefined;
  };
  const total = read('spillway_modal_cost_dollars_total');
  return total === undefined ? undefined : { total, perHour: read('spillway_modal_cost_dollars_per_hour') ?? 0 };
}

async function main(): Promise<void> {
  mkdirSync(out, { recursive: true });
  const bin = envoyBin();
  const tsx = ['--import', 'tsx'];
  const node = process.execPath;
  console.log(
    `demo: starting fake Modal, 3 in-house backends, ${replicas > 1 ? `${replicas} Spillway replicas on etcd` : 'Spillway'} and Envoy (logs in .tmp/demo/)`,
  );

  const fake = startProcess(
    'fake-modal',
    node,
    [
      ...tsx,
      'tools/fake-modal/main.ts',
      '--function',
      `${modal.app}/${modal.function}`,
      '--https-port',
      String(modal.port),
      '--control-port',
      String(FAKE_MODAL_CONTROL_PORT),
      '--http-port',
      String(FAKE_MODAL_HTTP_PORT),
      '--pki-dir',
      dirname(join(root, modal.caBundle)),
      '--tls-names',
      modal.hostname,
      '--max-inputs',
      String(modal.maxInputs),
      '--max-containers',
      String(modal.maxContainers),
      ...FAKE_MODAL_FLAGS,
    ],
    { cwd: root, logPath: join(out, 'fake-modal.log') },
  );
  if (!(await fake.ready)) throw new Error('demo: fake Modal did not start (see .tmp/demo/fake-modal.log)');

  const first = service.inHouse[0]!;
  const backends = startProcess(
    'backends',
    node,
    [
      ...tsx,
      'tools/backends/main.ts',
      '--count',
      String(service.inHouse.length),
      '--base-port',
      String(first.port),
      '--slots',
      String(first.capacity),
      ...BACKEND_FLAGS,
    ],
    { cwd: root, logPath: join(out, 'backends.log') },
  );
  await backends.ready;

  const spillwayEnv = {
    MODAL_SERVER_URL: `http://127.0.0.1:${FAKE_MODAL_CONTROL_PORT}`,
    MODAL_TOKEN_ID: 'ak-spillway-demo',
    MODAL_TOKEN_SECRET: 'as-spillway-demo',
  };
  let envoyConfig = 'envoy/envoy.yaml';
  if (replicas > 1) envoyConfig = await startReplicas(node, tsx, spillwayEnv);
  else startProcess('spillway', node, [...tsx, 'src/cli.ts', 'serve'], { cwd: root, logPath: join(out, 'spillway.log'), env: spillwayEnv });
  startProcess('envoy', bin, ['-c', envoyConfig, '--disable-hot-restart', '--concurrency', '2', '-l', 'warning'], {
    cwd: root,
    logPath: join(out, 'envoy.log'),
  });
  const url = `http://${service.listener.host}:${service.listener.port}`;
  await waitUntil('Envoy to serve through Spillway', async () => (await fetch(`${url}/?ms=1`)).ok, replicas > 1 ? 120_000 : 30_000);
  if (replicas > 1) console.log('demo: one replica leads (`npm run spillway -- watch` shows which); kill it to watch another take over');
  const statusPage = `http://${config.metrics.listen.host}:${config.metrics.listen.port}/status`;
  console.log(
    `demo: Envoy serving on ${url}; admin gRPC on ${config.admin.listen.host}:${config.admin.listen.port}; live status page ${statusPage}` +
      ` (or: npm run spillway -- status). Load: ramp → burst → drain for ${durationS} s\n`,
  );

  const loadOut = join(out, 'load.jsonl');
  const load = startProcess(
    'loadgen',
    node,
    [
      ...tsx,
      'tools/loadgen/main.ts',
      '--url',
      url,
      ...LOADGEN_FLAGS,
      '--duration',
      String(durationS),
      '--base-rps',
      values['base-rps']!,
      '--peak-rps',
      values['peak-rps']!,
      '--out',
      loadOut,
    ],
    { cwd: root, logPath: join(out, 'loadgen.log') },
  );
  const loadDone = new Promise<void>((r) => load.child.on('exit', () => r()));
  const shot = values.screenshot
    ? new Promise<void>((r) => setTimeout(r, Number(values['screenshot-at']) * 1000)).then(() =>
        screenshotStatusPage(statusPage, join(root, values.screenshot!)).then(
          (path) => console.log(`demo: status page screenshot ${path}`),
          (err: unknown) => console.error(`demo: status page screenshot failed: ${err instanceof Error ? err.message : String(err)}`),
        ),
      )
    : Promise.resolve();

  const points: ChartPoint[] = [];
  const header = '   t  offered  in-house  Modal  shed+err  Modal share  containers';
  console.log(header);
  let finished = false;
  void loadDone.then(() => (finished = true));
  let lastLines = 0;
  while (!finished) {
    await new Promise((r) => setTimeout(r, 1000));
    // The load generator may not have written its first line yet (slow start on a busy machine).
    const lines = existsSync(loadOut) ? readFileSync(loadOut, 'utf8').split('\n').filter(Boolean) : [];
    const fresh = lines
      .slice(lastLines)
      .map((l) => JSON.parse(l) as LoadRecord)
      .filter((r): r is SecondRecord => r.type === 'second');
    lastLines = lines.length;
    const share = await modalShareInEnvoy().catch(() => 0);
    const fm = await fakeModalState().catch(() => ({ containers: 0, containerSeconds: 0, started: 0 }));
    for (const r of fresh) {
      const p: ChartPoint = {
        t: r.t,
        offeredRps: r.arrivals,
        inHouseRps: r.tiers.in_house,
        modalRps: r.tiers.modal,
        shedRps: r.tiers.shed,
        errorRps: r.tiers.other + r.errors,
        modalShare: share,
        modalContainers: fm.containers,
      };
      points.push(p);
      const bar = '█'.repeat(Math.round(share * 20)).padEnd(20, '·');
      console.log(
        `${String(p.t).padStart(4)}  ${String(p.offeredRps).padStart(7)}  ${String(p.inHouseRps).padStart(8)}  ${String(p.modalRps).padStart(5)}  ${String(p.shedRps + p.errorRps).padStart(8)}  ${bar} ${(share * 100).toFixed(0).padStart(3)} %  ${fm.containers}`,
      );
    }
  }
  const summary = readFileSync(loadOut, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LoadRecord)
    .find((r): r is LoadSummary => r.type === 'summary');
  const fm = await fakeModalState().catch(() => ({ containers: 0, containerSeconds: 0, started: 0 }));
  const cost = await spillwayCost().catch(() => undefined);
  const chartPath = join(out, 'chart.svg');
  writeFileSync(chartPath, renderChart(points, `Spillway demo: ramp → burst → drain (${durationS} s)`));
  if (summary) {
    const t = summary.tiers;
    const total = Math.max(1, summary.completed + summary.errors);
    const pct = (n: number): string => `${((100 * n) / total).toFixed(1)} %`;
    console.log(
      `\nsummary: ${summary.completed} responses; in-house ${pct(t.in_house)}, Modal ${pct(t.modal)}, shed ${pct(t.shed)}, other errors ${pct(t.other + summary.errors)}`,
    );
    console.log(
      `latency p50 ${summary.latency_ms?.p50} ms, p99 ${summary.latency_ms?.p99} ms; Modal containers started ${fm.started}, billed ${fm.containerSeconds} container-seconds`,
    );
    const price = service.modal?.pricePerContainerSecond ?? 0;
    console.log(
      `Modal cost: $${(fm.containerSeconds * price).toFixed(4)} billed (at $${price}/container-second)` +
        (cost ? `; Spillway's live figure $${cost.total.toFixed(4)} since start, $${cost.perHour.toFixed(4)}/h at the end` : ''),
    );
  }
  console.log(`chart: ${chartPath}\nper-second records: ${loadOut}`);
  await shot;
}

let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  await stopAll();
  process.exit(code);
}
process.on('SIGINT', () => {
  console.log('\ndemo: stopping everything');
  void shutdown(130);
});
process.on('SIGTERM', () => void shutdown(143));
main().then(
  () => shutdown(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    void shutdown(1);
  },
);
