// Shares this replica's LRS reports with the group under load/<replica>, bound to its lease, at most
// once per SHARE_GAP: the first change after a quiet spell goes out at once, later ones wait for
// the spell to end. Many Envoys' reports are then a few writes per interval, and an early report (a
// second look at demand, asked for 400 ms after the report before) is not held back.
import type { Namespace } from 'etcd3';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Cancel, Scheduler } from '../core/scheduler.js';
import type { LocalLoadView } from '../lrs/load-view.js';
import { encodeReplicaLoad } from './fleet-load.js';
import { keys } from './keys.js';

export interface LoadSharingOptions {
  group: Namespace;
  replica: string;
  local: LocalLoadView;
  intervalMs: number;
  leaseId: () => string | undefined;
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
}

/** A quarter of the LRS interval, and never more than 200 ms (under half an early report's wait). */
const shareGapMs = (intervalMs: number): number => Math.min(intervalMs / 4, 200);

export class LoadSharing {
  private lastAtMs = -Infinity;
  private timer: Cancel | undefined;
  private inFlight = false;
  private again = false;
  private sharedEmpty = false;
  private stopped = false;
  private readonly unsubscribe: () => void;
  private readonly log: Logger;

  constructor(private readonly opts: LoadSharingOptions) {
    this.log = opts.logger.child({ component: 'ha-load' });
    this.unsubscribe = opts.local.subscribe(() => this.changed());
  }

  /** Something changed (a report, a lease granted): share it within the interval. */
  changed(): void {
    if (this.stopped) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    const wait = Math.max(0, this.lastAtMs + shareGapMs(this.opts.intervalMs) - this.opts.clock.nowMs());
    this.timer = this.opts.scheduler.after(wait, () => {
      this.timer = undefined;
      void this.share();
    });
  }

  /** Shares now, whatever the interval (a new lease: the old key went with the old one). */
  now(): void {
    this.timer?.();
    this.timer = undefined;
    this.lastAtMs = -Infinity;
    this.sharedEmpty = false;
    this.changed();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.();
    this.unsubscribe();
  }

  private async share(): Promise<void> {
    const leaseId = this.opts.leaseId();
    if (leaseId === undefined || this.stopped) return;
    const samples = this.opts.local.nodeSamples();
    if (samples.length === 0 && this.sharedEmpty) return;
    const atMs = this.opts.clock.nowMs();
    this.lastAtMs = atMs;
    this.inFlight = true;
    try {
      const value = encodeReplicaLoad({
        replica: this.opts.replica,
        publishedAtMs: atMs,
        connectedEnvoys: this.opts.local.snapshot().connectedEnvoys,
        samples,
      });
      await this.opts.group.put(keys.load(this.opts.replica)).value(value).lease(leaseId);
      this.sharedEmpty = samples.length === 0;
    } catch (err) {
      this.log.debug({ error: errorMessage(err) }, 'cannot share the load with the group');
      this.again = true;
    } finally {
      this.inFlight = false;
      if (this.again) {
        this.again = false;
        this.changed();
      }
    }
  }
}
