// Polls Envoy's admin /stats tightly for the counters that say when an EDS update was taken.
// Stats, not /config_dump: the config dump reads the main thread's priority set, which changes as
// soon as the EDS response is accepted, while the workers that route traffic get the new host set
// only when the cluster manager posts it — immediately, or after update_merge_window for a
// weight-only change. cluster_manager.cluster_updated (+ _via_merge) counts exactly those posts.
import { Agent, request } from 'node:http';
import { nowMs, sleep } from './clock.js';

export const WATCHED = [
  'cluster.echo.update_success',
  'cluster_manager.cluster_updated',
  'cluster_manager.cluster_updated_via_merge',
  'cluster_manager.update_merge_cancelled',
  'cluster_manager.update_out_of_merge_window',
] as const;
export type Counters = Record<(typeof WATCHED)[number], number>;

export interface PollSample {
  /** When the response arrived; the change it shows happened after prevAtMs. */
  atMs: number;
  prevAtMs: number;
  counters: Counters;
}

const FILTER = `^(${WATCHED.map((w) => w.replace(/\./g, '\\.')).join('|')})$`;

export class AdminPoller {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private stopped = false;
  private done: Promise<void> | undefined;
  latest: PollSample | undefined;
  polls = 0;
  firstAt: number | undefined;
  private readonly listeners = new Set<(s: PollSample) => void>();

  constructor(
    private readonly adminUrl: string,
    private readonly everyMs = 5,
  ) {}

  onSample(fn: (s: PollSample) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    this.agent.destroy();
  }

  /** The workers' count of host-set updates (immediate + merged). */
  static applied(c: Counters): number {
    return c['cluster_manager.cluster_updated'] + c['cluster_manager.cluster_updated_via_merge'];
  }

  private async loop(): Promise<void> {
    let prevAtMs = nowMs();
    while (!this.stopped) {
      const text = await this.get(`/stats?filter=${encodeURIComponent(FILTER)}`).catch(() => undefined);
      const atMs = nowMs();
      if (text !== undefined) {
        const counters = Object.fromEntries(WATCHED.map((w) => [w, 0])) as Counters;
        for (const line of text.split('\n')) {
          const m = /^([^:]+): (\d+)$/.exec(line.trim());
          if (m && (WATCHED as readonly string[]).includes(m[1]!)) counters[m[1] as keyof Counters] = Number(m[2]);
        }
        this.polls++;
        this.firstAt ??= atMs;
        this.latest = { atMs, prevAtMs, counters };
        for (const l of this.listeners) l(this.latest);
        prevAtMs = atMs;
      }
      await sleep(this.everyMs);
    }
  }

  private get(path: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = request(`${this.adminUrl}${path}`, { agent: this.agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve(body));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }
}
