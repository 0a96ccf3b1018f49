// The recent in-house / Modal / shed split per service, so a page opened now shows the last minutes
// at once. Points are kept when the split changes and at most once per `resolutionMs` otherwise;
// anything older than `windowMs` is dropped.
import type { SplitPoint } from './page-model.js';

export interface SplitHistoryOptions {
  windowMs: number;
  resolutionMs: number;
}

export class SplitHistory {
  private readonly points = new Map<string, SplitPoint[]>();

  constructor(private readonly opts: SplitHistoryOptions = { windowMs: 30 * 60_000, resolutionMs: 1_000 }) {}

  add(service: string, p: SplitPoint): void {
    let list = this.points.get(service);
    if (!list) {
      list = [];
      this.points.set(service, list);
    }
    const last = list[list.length - 1];
    if (last && p[0] < last[0]) return;
    const same = last !== undefined && last[1] === p[1] && last[2] === p[2] && last[3] === p[3];
    if (same && p[0] - last[0] < this.opts.resolutionMs) return;
    list.push(p);
    const cutoff = p[0] - this.opts.windowMs;
    let drop = 0;
    while (drop < list.length - 1 && list[drop]![0] < cutoff) drop++;
    if (drop > 0) list.splice(0, drop);
  }

  /** Forgets services that are no longer configured. */
  retain(services: ReadonlySet<string>): void {
    for (const name of [...this.points.keys()]) if (!services.has(name)) this.points.delete(name);
  }

  snapshot(): Record<string, SplitPoint[]> {
    return Object.fromEntries([...this.points].map(([k, v]) => [k, [...v]]));
  }
}
