import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';

export interface Managed {
  name: string;
  child: ChildProcess;
  /** Resolves with the first stdout line that parses as JSON (components announce themselves so). */
  ready: Promise<Record<string, unknown> | undefined>;
}

const running: Managed[] = [];

/** Starts a component in its own process group, logging to logPath; remembered for stopAll(). */
export function startProcess(
  name: string,
  cmd: string,
  args: string[],
  opts: { logPath: string; env?: NodeJS.ProcessEnv; cwd?: string },
): Managed {
  const log = createWriteStream(opts.logPath, { flags: 'w' });
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let buffered = '';
  const ready = new Promise<Record<string, unknown> | undefined>((resolve) => {
    child.stdout?.on('data', (b: Buffer) => {
      log.write(b);
      buffered += b.toString();
      for (const line of buffered.split('\n').slice(0, -1)) {
        try {
          const v = JSON.parse(line) as unknown;
          if (v && typeof v === 'object') resolve(v as Record<string, unknown>);
        } catch {
          // Not the announcement line.
        }
      }
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
    });
    child.on('exit', () => resolve(undefined));
  });
  child.stderr?.on('data', (b: Buffer) => log.write(b));
  child.on('exit', (code, signal) => log.write(`\n[demo] ${name} exited (${code ?? signal})\n`));
  const m = { name, child, ready };
  running.push(m);
  return m;
}

/** SIGTERM every component's process group, then SIGKILL whatever is left after a grace period. */
export async function stopAll(graceMs = 4000): Promise<void> {
  const alive = running.filter((m) => m.child.exitCode === null && m.child.signalCode === null);
  for (const m of alive) signalGroup(m.child, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && alive.some((m) => m.child.exitCode === null && m.child.signalCode === null)) {
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const m of alive) if (m.child.exitCode === null && m.child.signalCode === null) signalGroup(m.child, 'SIGKILL');
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}
