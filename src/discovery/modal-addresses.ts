// Keeps the Modal hostname resolved to every address it has (all A and AAAA records): EDS endpoints
// must be IPs, so Spillway resolves Modal itself and re-resolves when the TTL runs out (clamped to
// the discovery bounds). An empty answer or a failure keeps the last good addresses; a name DNS does
// not know falls back to the system resolver (hosts file, search domains).
import { lookup } from 'node:dns/promises';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Cancel, Scheduler } from '../core/scheduler.js';
import type { DnsClient } from './dns-client.js';
import type { TtlBounds } from './dns-readers.js';

/** TTL assumed for names answered by the hosts file (which has none). */
const HOSTS_TTL_MS = 30_000;

export type AddressesListener = (addresses: string[]) => void;

export class ModalAddressWatcher {
  private cancel: Cancel = () => {};
  private stopped = false;
  private last: string[] = [];
  private readonly log: Logger;

  constructor(
    private readonly hostname: string,
    private readonly onChange: AddressesListener,
    private readonly deps: { scheduler: Scheduler; clock: Clock; dns: DnsClient; ttl: TtlBounds; logger?: Logger },
  ) {
    this.log = (deps.logger ?? silentLogger).child({ component: 'modal-dns', hostname });
  }

  async start(): Promise<void> {
    await this.refresh();
  }

  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  current(): readonly string[] {
    return this.last;
  }

  private async resolve(): Promise<{ addresses: string[]; ttlMs: number | undefined }> {
    const answer = await this.deps.dns.addresses(this.hostname, 'any');
    if (answer.addresses.length > 0) return answer;
    const found = await lookup(this.hostname, { all: true });
    return { addresses: found.map((a) => a.address).sort(), ttlMs: HOSTS_TTL_MS };
  }

  private async refresh(): Promise<void> {
    if (this.stopped) return;
    const { minTtlMs, maxTtlMs } = this.deps.ttl;
    let next = minTtlMs;
    try {
      const r = await this.resolve();
      next = Math.min(maxTtlMs, Math.max(minTtlMs, r.ttlMs ?? minTtlMs));
      if (r.addresses.length > 0 && r.addresses.join(',') !== this.last.join(',')) {
        this.log.info({ addresses: r.addresses, ttlMs: r.ttlMs }, 'Modal hostname resolved');
        this.last = r.addresses;
        this.onChange(r.addresses);
      }
    } catch (err) {
      this.log.warn({ error: errorMessage(err), keeping: this.last }, 'cannot resolve Modal hostname; keeping the last addresses');
    }
    if (!this.stopped) this.cancel = this.deps.scheduler.after(next, () => void this.refresh());
  }
}
