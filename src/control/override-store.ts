// Operator overrides of a service's Modal share, each bounded in time. The store only keeps them and
// fires on expiry; what gets published is the plan router's business.
import { Listeners } from '../core/listeners.js';
import type { Clock } from '../core/clock.js';
import type { Cancel, Scheduler } from '../core/scheduler.js';

/** Longest override an operator may set: long enough for an incident, short enough not to be forgotten. */
export const MAX_OVERRIDE_MS = 24 * 60 * 60 * 1000;

export interface ActiveOverride {
  service: string;
  /** Modal share, 0–1. */
  share: number;
  reason: string;
  setAtMs: number;
  expiresAtMs: number;
}

export type OverrideListener = (service: string, override: ActiveOverride | undefined, why: 'set' | 'cleared' | 'expired') => void;

export class OverrideStore {
  private readonly active = new Map<string, { override: ActiveOverride; cancel: Cancel }>();
  private readonly listeners = new Listeners<Parameters<OverrideListener>>();

  constructor(
    private readonly clock: Clock,
    private readonly scheduler: Scheduler,
  ) {}

  get(service: string): ActiveOverride | undefined {
    return this.active.get(service)?.override;
  }

  /** Replaces any override the service had. The caller validated share and duration. */
  set(service: string, share: number, durationMs: number, reason: string): ActiveOverride {
    const now = this.clock.nowMs();
    const override = this.install({ service, share, reason, setAtMs: now, expiresAtMs: now + durationMs });
    this.notify(service, override, 'set');
    return override;
  }

  /**
   * Resumes an override saved before a restart, with its own set and expiry times (it runs for the time
   * it has left). Listeners are not told: the plan it sets is restored with it (Publisher.seed).
   */
  restore(override: ActiveOverride): void {
    if (override.expiresAtMs > this.clock.nowMs()) this.install(override);
  }

  /** True when there was an override to clear. */
  clear(service: string): boolean {
    const entry = this.active.get(service);
    if (!entry) return false;
    entry.cancel();
    this.active.delete(service);
    this.notify(service, undefined, 'cleared');
    return true;
  }

  /**
   * Takes an override set elsewhere (through another replica), with its own set and expiry times: it
   * runs for the time it has left, and listeners hear of it as set. An expired one is ignored.
   */
  adopt(override: ActiveOverride): ActiveOverride | undefined {
    if (override.expiresAtMs <= this.clock.nowMs()) return undefined;
    const kept = this.install(override);
    this.notify(kept.service, kept, 'set');
    return kept;
  }

  /** Replaces the service's override with (a copy of) this one, which is removed when it expires. */
  private install(override: ActiveOverride): ActiveOverride {
    const left = override.expiresAtMs - this.clock.nowMs();
    this.active.get(override.service)?.cancel();
    const kept = { ...override };
    const cancel = this.scheduler.after(left, () => {
      if (this.active.get(kept.service)?.override !== kept) return;
      this.active.delete(kept.service);
      this.notify(kept.service, undefined, 'expired');
    });
    this.active.set(kept.service, { override: kept, cancel });
    return kept;
  }

  onChange(fn: OverrideListener): () => void {
    return this.listeners.add(fn);
  }

  close(): void {
    for (const { cancel } of this.active.values()) cancel();
    this.active.clear();
    this.listeners.clear();
  }

  private notify(service: string, override: ActiveOverride | undefined, why: 'set' | 'cleared' | 'expired'): void {
    // A listener's bug must not keep an override alive or stop the others hearing of it.
    this.listeners.emit(service, override, why);
  }
}
