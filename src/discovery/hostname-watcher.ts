import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Cancel, Scheduler } from '../core/scheduler.js';

export interface Resolved {
  ip: string;
  ttlMs: number;
}

/** Resolves a hostname to one IPv4 address and its TTL. */
export type ResolveFn = (hostname: string) => Promise<Resolved>;

const MIN_TTL_MS = 5_000;
const MAX_TTL_MS = 300_000;
/** TTL assumed for names answered by the hosts file (which has none). */
const HOSTS_TTL_MS = 30_000;
const RETRY_MS = 5_000;

/** DNS first (it carries TTLs), then the system resolver (hosts file, search domains). */
export const systemResolve: ResolveFn = async (hostname) => {
  if (isIP(hostname)) return { ip: hostname, ttlMs: MAX_TTL_MS };
  try {
    const records = await dns.resolve4(hostname, { ttl: true });
    const first = [...records].sort((a, b) => a.address.localeCompare(b.address))[0];
    if (first) return { ip: first.address, ttlMs: first.ttl * 1000 };
  } catch {
    // Fall through to getaddrinfo.
  }
  const { address } = await dns.lookup(hostname, { family: 4 });
  return { ip: address, ttlMs: HOSTS_TTL_MS };
};

/**
 * Keeps a hostname resolved: EDS endpoints must be IPs, so Spillway resolves Modal's hostname
 * itself and re-resolves when the TTL runs out (clamped to 5 s–5 min). On failure it keeps the last
 * good address and retries.
 */
export class HostnameWatcher {
  private cancel: Cancel = () => {};
  private stopped = false;
  private last: string | undefined;

  constructor(
    private readonly hostname: string,
    private readonly onChange: (ip: string) => void,
    private readonly deps: { scheduler: Scheduler; clock: Clock; resolve?: ResolveFn; logger?: Logger },
  ) {}

  async start(): Promise<void> {
    await this.refresh();
  }

  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  current(): string | undefined {
    return this.last;
  }

  private async refresh(): Promise<void> {
    if (this.stopped) return;
    const log = (this.deps.logger ?? silentLogger).child({ component: 'modal-dns' });
    let next = RETRY_MS;
    try {
      const r = await (this.deps.resolve ?? systemResolve)(this.hostname);
      next = Math.min(MAX_TTL_MS, Math.max(MIN_TTL_MS, r.ttlMs));
      if (r.ip !== this.last) {
        log.info({ hostname: this.hostname, ip: r.ip, ttlMs: r.ttlMs }, 'Modal hostname resolved');
        this.last = r.ip;
        this.onChange(r.ip);
      }
    } catch (err) {
      log.warn({ hostname: this.hostname, error: errorMessage(err) }, 'cannot resolve Modal hostname; keeping last address');
    }
    if (!this.stopped) this.cancel = this.deps.scheduler.after(next, () => void this.refresh());
  }
}
