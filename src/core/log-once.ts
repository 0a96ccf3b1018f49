/**
 * Remembers which keys were already logged, so a client that repeats the same mistake is logged
 * once (at warn) and not once per attempt. Bounded: past `max` keys it starts again, which costs
 * a repeated line, never memory.
 */
export class LogOnce {
  private readonly seen = new Set<string>();

  constructor(private readonly max = 10_000) {}

  /** True the first time a key is seen (since the record last started again). */
  first(key: string): boolean {
    if (this.seen.has(key)) return false;
    if (this.seen.size >= this.max) this.seen.clear();
    this.seen.add(key);
    return true;
  }
}
