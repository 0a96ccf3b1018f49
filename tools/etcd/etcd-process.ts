// A real single-member etcd on free loopback ports with its data in a temp dir, for tests, benchmarks
// and the replicated demo. It can be stopped and started again on the same ports and data (an etcd
// outage), or frozen (SIGSTOP).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stablePort } from '../ports.js';
import { waitFor } from '../wait-for.js';
import { findEtcdBin } from './etcd-bin.js';

export interface EtcdOptions {
  /** Data directory; default a fresh temp dir, removed by close(). */
  dataDir?: string;
  /**
   * Raft timings for tests (heartbeat 10 ms, election 100 ms): a single member elects itself at once
   * on start. Default true; false keeps etcd's own defaults (100 ms / 1 s).
   */
  fast?: boolean;
  /** Extra command-line flags. */
  args?: readonly string[];
}

export interface EtcdHandle {
  /** The client URL, e.g. http://127.0.0.1:23790. */
  readonly url: string;
  readonly dataDir: string;
  /** The running process (undefined while stopped). */
  process(): ChildProcess | undefined;
  logs(): string;
  /** Kills etcd (SIGKILL: etcd 3.6 lingers on SIGTERM); its data stays for start(). */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data; resolves once it answers /health. */
  start(): Promise<void>;
  /** Stops it and removes its data directory (if it made it). */
  close(): Promise<void>;
}

export async function startEtcd(opts: EtcdOptions = {}): Promise<EtcdHandle> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? join(mkdtempSync(join(tmpdir(), 'spillway-etcd-')), 'data');
  const clientPort = await stablePort();
  const peerPort = await stablePort();
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const bin = findEtcdBin();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = '';

  const start = async (): Promise<void> => {
    if (child) return;
    const args = [
      '--name',
      'default',
      '--data-dir',
      dataDir,
      '--listen-client-urls',
      url,
      '--advertise-client-urls',
      url,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `default=${peer}`,
      '--log-level',
      'warn',
      ...(opts.fast === false ? [] : ['--heartbeat-interval', '10', '--election-timeout', '100']),
      ...(opts.args ?? []),
    ];
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    const append = (b: Buffer): void => {
      output = (output + b.toString()).slice(-100_000);
    };
    proc.stdout?.on('data', append);
    proc.stderr?.on('data', append);
    exited = new Promise((resolve) =>
      proc.once('exit', () => {
        if (child === proc) child = undefined;
        resolve();
      }),
    );
    await waitFor(
      async () => {
        if (child !== proc) throw new Error(`etcd exited during start:\n${output}`);
        const res = await fetch(`${url}/health`).catch(() => undefined);
        return res?.ok === true && ((await res.json()) as { health?: string }).health === 'true';
      },
      20_000,
      'etcd /health',
    );
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc) return;
    // A frozen etcd must be able to die too.
    proc.kill('SIGCONT');
    proc.kill('SIGKILL');
    await exited;
  };

  await start();
  return {
    url,
    dataDir,
    process: () => child,
    logs: () => output,
    stop,
    start,
    close: async () => {
      await stop();
      if (ownDir) rmSync(join(dataDir, '..'), { recursive: true, force: true });
    },
  };
}
