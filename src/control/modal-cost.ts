// Live Modal cost per service: Modal bills containers by the second, so the container count from the
// stats feed times the configured price is the spend rate, and its integral is the spend. A reader
// concern: nothing here changes what is published.
import type { Clock } from '../core/clock.js';
import type { ModalStatsSample } from '../model/inputs.js';

const HOUR_S = 3600;
const DAY_MS = 86_400_000;
/** Past this without a sample the container count is unknown: the open interval stops counting. */
const EXTRAPOLATE_MS = 60_000;

export interface ModalCost {
  pricePerContainerSecond: number;
  /** Containers now × price, per hour. */
  dollarsPerHour: number;
  containerSecondsSinceStart: number;
  dollarsSinceStart: number;
  /** Since 00:00 UTC today. */
  dollarsToday: number;
  sinceMs: number;
}

interface Meter {
  price: number;
  sinceMs: number;
  runners: number;
  /** When the count in `runners` was observed; null before the first sample. */
  atMs: number | null;
  containerSeconds: number;
  dayStartMs: number;
  containerSecondsToday: number;
}

const dayStart = (ms: number): number => Math.floor(ms / DAY_MS) * DAY_MS;

export class ModalCostMeter {
  private readonly meters = new Map<string, Meter>();

  constructor(
    private readonly clock: Clock,
    services: readonly { service: string; pricePerContainerSecond: number }[],
  ) {
    const now = clock.nowMs();
    for (const s of services) {
      this.meters.set(s.service, {
        price: s.pricePerContainerSecond,
        sinceMs: now,
        runners: 0,
        atMs: null,
        containerSeconds: 0,
        dayStartMs: dayStart(now),
        containerSecondsToday: 0,
      });
    }
  }

  /** A new container count: the previous count is charged for the time since it was observed. */
  observe(sample: ModalStatsSample): void {
    const m = this.meters.get(sample.service);
    if (!m) return;
    if (m.atMs !== null && sample.observedAtMs > m.atMs) {
      const until = Math.min(sample.observedAtMs, m.atMs + EXTRAPOLATE_MS);
      charge(m, m.atMs, until, m.runners);
    }
    m.runners = sample.runners;
    m.atMs = Math.max(m.atMs ?? sample.observedAtMs, sample.observedAtMs);
  }

  cost(service: string): ModalCost | undefined {
    const m = this.meters.get(service);
    if (!m) return undefined;
    const now = this.clock.nowMs();
    // The open interval since the last sample, on a copy: reading never changes the meter.
    const view = { ...m };
    if (m.atMs !== null && now > m.atMs) charge(view, m.atMs, Math.min(now, m.atMs + EXTRAPOLATE_MS), m.runners);
    if (view.dayStartMs < dayStart(now)) view.containerSecondsToday = 0;
    const fresh = m.atMs !== null && now - m.atMs <= EXTRAPOLATE_MS;
    return {
      pricePerContainerSecond: m.price,
      dollarsPerHour: fresh ? m.runners * m.price * HOUR_S : 0,
      containerSecondsSinceStart: view.containerSeconds,
      dollarsSinceStart: view.containerSeconds * m.price,
      dollarsToday: view.containerSecondsToday * m.price,
      sinceMs: m.sinceMs,
    };
  }
}

/** Adds runners × (to − from) seconds, restarting "today" at each UTC midnight crossed. */
function charge(m: Meter, fromMs: number, toMs: number, runners: number): void {
  if (toMs <= fromMs) return;
  m.containerSeconds += (runners * (toMs - fromMs)) / 1000;
  let from = fromMs;
  while (from < toMs) {
    if (dayStart(from) > m.dayStartMs) {
      m.dayStartMs = dayStart(from);
      m.containerSecondsToday = 0;
    }
    const end = Math.min(toMs, m.dayStartMs + DAY_MS);
    m.containerSecondsToday += (runners * (end - from)) / 1000;
    from = end;
  }
}
