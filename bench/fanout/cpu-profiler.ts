// A CPU profile of one window of a process's life (node:inspector), so a profile shows the push
// phase alone rather than start-up and stream sync. Used in the Spillway child and the load tool.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

export class CpuProfiler {
  private session: Session | undefined;

  async start(): Promise<void> {
    if (this.session) throw new Error('profiler already running');
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    // 100 µs sampling: a push at N = 1,000 lasts ~100 ms, so the default 1 ms is too coarse.
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    this.session = session;
  }

  /** Stops and writes the .cpuprofile (readable by profile-summary.ts and Chrome DevTools). */
  async stop(path: string): Promise<void> {
    const session = this.session;
    if (!session) throw new Error('profiler not running');
    this.session = undefined;
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    writeFileSync(path, JSON.stringify(profile));
  }
}
