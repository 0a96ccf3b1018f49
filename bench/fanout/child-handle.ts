import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ChildCommand, ChildReady, ChildReply } from './child-protocol.js';
import { compiledChildEntry } from './compiled-child.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface ChildOptions {
  services: number;
  /**
   * How the child runs: 'dist' runs the compiled JavaScript with plain node, as production does
   * (`node dist/src/cli.js`; see compiled-child.ts), 'tsx' runs the TypeScript through tsx (whose
   * loader thread adds tens of MiB of RSS and start-up JIT work). Default 'tsx'.
   */
  runtime?: 'tsx' | 'dist';
}

/** A spawned child process speaking the JSON-line protocol (child-protocol.ts). */
export interface ChildCommandLine {
  file: string;
  args: readonly string[];
  cwd: string;
}

/** An ADS server under benchmark: Spillway or another control plane (bench/compare). */
export interface BenchServer {
  /** Who serves: 'spillway' or 'go-control-plane'. */
  readonly name: string;
  readonly xdsPort: number;
  readonly pid: number;
  request(cmd: DistributiveOmit<ChildCommand, 'id'>): Promise<ChildReply>;
  /** Publishes a new Modal share for one service (an EDS-only change); replies with the publish stamps. */
  setShare(service: string, share: number): Promise<ChildReply>;
  stop(): Promise<void>;
}

/** The benchmark's side of a child process: spawn, request/reply, exit. */
export class SpillwayChild implements BenchServer {
  name = 'spillway';
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: ChildReply) => void; reject: (e: Error) => void }>();
  private readonly exited: Promise<number | null>;
  private stderrTail = '';

  private constructor(
    private readonly proc: ChildProcessWithoutNullStreams,
    readonly xdsPort: number,
    readonly pid: number,
  ) {
    this.exited = new Promise((r) => proc.once('exit', (code) => r(code)));
  }

  static async start(opts: ChildOptions): Promise<SpillwayChild> {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const entry =
      opts.runtime === 'dist'
        ? compiledChildEntry()
        : { file: process.execPath, args: ['--import', 'tsx', fileURLToPath(new URL('./spillway-child.ts', import.meta.url))] };
    // `--import tsx` resolves from the working directory: the repository root.
    // V8 flags for an experiment on the server under test (recorded by the caller when set).
    const v8Flags = (process.env['BENCH_CHILD_V8_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
    return SpillwayChild.spawn({ file: entry.file, args: ['--expose-gc', ...v8Flags, ...entry.args, String(opts.services)], cwd: root });
  }

  /** Spawns any child that speaks the line protocol and waits for its ready line. */
  static async spawn(cmd: ChildCommandLine, name = 'spillway'): Promise<SpillwayChild> {
    const proc = spawn(cmd.file, [...cmd.args], { stdio: ['pipe', 'pipe', 'pipe'], cwd: cmd.cwd });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const lines = createInterface({ input: proc.stdout });
    const ready = await new Promise<ChildReady>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} child did not start in 30 s: ${stderr}`)), 30_000);
      proc.once('exit', (code) => reject(new Error(`${name} child exited (${code}) before ready: ${stderr}`)));
      const onReady = (l: string): void => {
        if (!l.startsWith('{')) return; // a V8 trace line printed during start-up
        lines.off('line', onReady);
        clearTimeout(timer);
        resolve(JSON.parse(l) as ChildReady);
      };
      lines.on('line', onReady);
    });
    const child = new SpillwayChild(proc, ready.xdsPort, ready.pid);
    child.name = name;
    proc.stderr.on('data', (d: Buffer) => {
      child.stderrTail = (child.stderrTail + d.toString()).slice(-4000);
    });
    lines.on('line', (l) => child.onLine(l));
    proc.once('exit', (code) => {
      for (const p of child.pending.values()) p.reject(new Error(`${name} child exited (${code}): ${child.stderrTail}`));
      child.pending.clear();
    });
    return child;
  }

  request(cmd: DistributiveOmit<ChildCommand, 'id'>): Promise<ChildReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.proc.stdin.write(`${JSON.stringify({ ...cmd, id })}\n`);
    });
  }

  setShare(service: string, share: number): Promise<ChildReply> {
    return this.request({ cmd: 'set-share', service, share });
  }

  /** Asks the child to stop serving and exit (so a CPU profile is written); kills it after 10 s. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    void this.request({ cmd: 'exit' }).catch(() => {});
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  private onLine(line: string): void {
    // V8 trace flags (BENCH_CHILD_V8_FLAGS=--trace-deopt …) print to stdout too: pass them through. They can
    // interleave with a reply on the pipe (and that request then never settles): prefer --logfile.
    if (!line.startsWith('{')) {
      if (process.env['BENCH_CHILD_V8_FLAGS']) process.stderr.write(`[${this.name}] ${line}\n`);
      return;
    }
    const reply = JSON.parse(line) as ChildReply;
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (reply.error) p.reject(new Error(reply.error));
    else p.resolve(reply);
  }
}
