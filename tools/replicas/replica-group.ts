// A group of Spillway replicas on one etcd, each its own `spillway serve` process as a user runs it,
// for the replica tests, the fail-over benchmark and `npm run demo -- --replicas N`. Every replica
// gets the same configuration (plus its own ports and `ha:` section) and can be killed, frozen
// (SIGSTOP), resumed and started again.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { stringify } from 'yaml';
import { loadAdminProtos } from '../../src/admin/admin-protos.js';
import type { AdminClient } from '../../src/generated/spillway/admin/v1/Admin.js';
import type { State__Output } from '../../src/generated/spillway/admin/v1/State.js';
import { startEtcd, type EtcdHandle } from '../etcd/etcd-process.js';
import { stablePort } from '../ports.js';
import { waitFor } from '../wait-for.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ReplicaGroupOptions {
  /** The configuration every replica shares, YAML-shaped, without xds/admin/metrics/ha (those are set per replica). */
  config: Record<string, unknown>;
  replicas: number;
  leaseTtlS: number;
  /** Default: a fresh etcd on free ports, closed with the group. */
  etcd?: EtcdHandle;
  prefix?: string;
  /** Environment of every replica (e.g. MODAL_SERVER_URL); per replica on top. */
  env?: NodeJS.ProcessEnv;
  envOf?: (index: number) => NodeJS.ProcessEnv;
  logLevel?: string;
  /** Where the configs go; default a temp dir removed by close(). */
  dir?: string;
}

export interface ReplicaProcess {
  readonly id: string;
  readonly index: number;
  readonly xdsPort: number;
  readonly adminPort: number;
  readonly metricsPort: number;
  readonly configPath: string;
  readonly admin: AdminClient;
  /** The running process (undefined while it is not running). */
  process(): ChildProcess | undefined;
  /** Everything it logged, across restarts. */
  output(): string;
  /** Starts it (again); resolves once its admin API answers. */
  start(): Promise<void>;
  /** Sends a signal (SIGKILL, SIGSTOP, SIGCONT, SIGTERM). */
  signal(sig: NodeJS.Signals): void;
  /** Resolves when the process has exited. */
  exited(): Promise<void>;
  state(): Promise<State__Output>;
}

export interface ReplicaGroup {
  readonly etcd: EtcdHandle;
  readonly prefix: string;
  readonly replicas: ReplicaProcess[];
  /** The replica that leads now, as the given replica (default: any answering one) sees it. */
  leader(from?: ReplicaProcess): Promise<ReplicaProcess | undefined>;
  close(): Promise<void>;
}

export async function startReplicaGroup(opts: ReplicaGroupOptions): Promise<ReplicaGroup> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'spillway-replicas-'));
  const etcd = opts.etcd ?? (await startEtcd());
  const prefix = opts.prefix ?? `/spillway/test-${process.pid}-${Date.now()}`;
  const { protos } = loadAdminProtos();
  const replicas: ReplicaProcess[] = [];
  for (let i = 0; i < opts.replicas; i++) {
    const id = `replica-${i + 1}`;
    // A replica is started again on the same ports: ones no other test's connection can take meanwhile.
    const [xdsPort, adminPort, metricsPort] = [await stablePort(), await stablePort(), await stablePort()];
    const configPath = join(dir, `${id}.yaml`);
    writeFileSync(
      configPath,
      stringify({
        ...opts.config,
        xds: { ...(opts.config['xds'] as object | undefined), listen: `127.0.0.1:${xdsPort}` },
        admin: { listen: `127.0.0.1:${adminPort}` },
        metrics: { listen: `127.0.0.1:${metricsPort}` },
        ha: { etcd: { endpoints: [etcd.url] }, prefix, lease_ttl_s: opts.leaseTtlS, replica_id: id },
      }),
    );
    replicas.push(
      replicaProcess({
        id,
        index: i,
        xdsPort,
        adminPort,
        metricsPort,
        configPath,
        admin: new protos.spillway.admin.v1.Admin(`127.0.0.1:${adminPort}`, grpc.credentials.createInsecure()),
        env: { ...process.env, SPILLWAY_LOG_LEVEL: opts.logLevel ?? 'info', ...opts.env, ...opts.envOf?.(i) },
      }),
    );
  }
  const leader = async (from?: ReplicaProcess): Promise<ReplicaProcess | undefined> => {
    for (const r of from ? [from] : replicas) {
      if (!r.process()) continue;
      const s = await r.state().catch(() => undefined);
      if (s?.replication?.leader_id) return replicas.find((x) => x.id === s.replication?.leader_id);
      if (from) return undefined;
    }
    return undefined;
  };
  return {
    etcd,
    prefix,
    replicas,
    leader,
    close: async () => {
      for (const r of replicas) r.signal('SIGCONT');
      for (const r of replicas) r.signal('SIGKILL');
      await Promise.all(replicas.map((r) => r.exited()));
      for (const r of replicas) r.admin.close();
      if (!opts.etcd) await etcd.close();
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function replicaProcess(p: {
  id: string;
  index: number;
  xdsPort: number;
  adminPort: number;
  metricsPort: number;
  configPath: string;
  admin: AdminClient;
  env: NodeJS.ProcessEnv;
}): ReplicaProcess {
  let child: ChildProcess | undefined;
  let exit: Promise<void> = Promise.resolve();
  let out = '';
  const state = (): Promise<State__Output> =>
    new Promise((resolve, reject) =>
      p.admin.GetState({}, { deadline: Date.now() + 2_000 }, (err, res) =>
        err || !res ? reject(err ?? new Error('no state')) : resolve(res),
      ),
    );
  return {
    id: p.id,
    index: p.index,
    xdsPort: p.xdsPort,
    adminPort: p.adminPort,
    metricsPort: p.metricsPort,
    configPath: p.configPath,
    admin: p.admin,
    process: () => child,
    output: () => out,
    state,
    async start() {
      if (child) return;
      const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--config', p.configPath], {
        cwd: REPO_ROOT,
        env: p.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = proc;
      const append = (b: Buffer): void => {
        out = (out + b.toString()).slice(-2_000_000);
      };
      proc.stdout?.on('data', append);
      proc.stderr?.on('data', append);
      exit = new Promise((resolve) =>
        proc.once('exit', () => {
          if (child === proc) child = undefined;
          resolve();
        }),
      );
      await waitFor(
        async () => {
          if (child !== proc) throw new Error(`replica ${p.id} exited during start:\n${out.slice(-5_000)}`);
          return (await state().catch(() => undefined)) !== undefined;
        },
        120_000,
        () => `replica ${p.id} admin API (${out.slice(-2_000)})`,
      );
    },
    signal(sig) {
      child?.kill(sig);
    },
    exited: () => exit,
  };
}
