import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ChildCommand, ChildReady, ChildReply } from './child-protocol.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface ChildOptions {
  services: number;
}

/** The benchmark's side of a Spillway child process: spawn, request/reply, exit. */
export class SpillwayChild {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: ChildReply) => void; reject: (e: Error) => void }>();
  private readonly exited: Promise<number | null>;
  private stderrTail = '';

  private constructor(
    private readonly proc: ChildProcessWithoutNullStreams,
    readonly xdsPort: number,
  ) {
    this.exited = new Promise((r) => proc.once('exit', (code) => r(code)));
  }

  static async start(opts: ChildOptions): Promise<SpillwayChild> {
    const entry = fileURLToPath(new URL('./spillway-child.ts', import.meta.url));
    const args = ['--expose-gc', '--import', 'tsx'];
    const proc = spawn(process.execPath, [...args, entry, String(opts.services)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // `--import tsx` resolves from the working directory: the repository root.
      cwd: fileURLToPath(new URL('../../', import.meta.url)),
    });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const lines = createInterface({ input: proc.stdout });
    const ready = await new Promise<ChildReady>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Spillway child did not start in 30 s: ${stderr}`)), 30_000);
      proc.once('exit', (code) => reject(new Error(`Spillway child exited (${code}) before ready: ${stderr}`)));
      lines.once('line', (l) => {
        clearTimeout(timer);
        resolve(JSON.parse(l) as ChildReady);
      });
    });
    const child = new SpillwayChild(proc, ready.xdsPort);
    proc.stderr.on('data', (d: Buffer) => {
      child.stderrTail = (child.stderrTail + d.toString()).slice(-4000);
    });
    lines.on('line', (l) => child.onLine(l));
    proc.once('exit', (code) => {
      for (const p of child.pending.values()) p.reject(new Error(`Spillway child exited (${code}): ${child.stderrTail}`));
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

  /** Asks the child to stop serving and exit (so a CPU profile is written); kills it after 10 s. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    void this.request({ cmd: 'exit' }).catch(() => {});
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  private onLine(line: string): void {
    const reply = JSON.parse(line) as ChildReply;
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (reply.error) p.reject(new Error(reply.error));
    else p.resolve(reply);
  }
}
