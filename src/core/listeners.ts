/**
 * A set of listeners called in turn, each isolated from the others: a reader's bug must never
 * break the producer (an xDS stream, report ingestion, a publish) nor starve the other listeners.
 */
export class Listeners<A extends unknown[]> {
  private readonly fns = new Set<(...args: A) => void>();

  /** onError sees what a listener threw; by default it is dropped. */
  constructor(private readonly onError: (err: unknown) => void = () => {}) {}

  /** Adds a listener; returns the function that removes it. */
  add(fn: (...args: A) => void): () => void {
    this.fns.add(fn);
    return () => {
      this.fns.delete(fn);
    };
  }

  emit(...args: A): void {
    for (const fn of this.fns) {
      try {
        fn(...args);
      } catch (err) {
        this.onError(err);
      }
    }
  }

  get size(): number {
    return this.fns.size;
  }

  clear(): void {
    this.fns.clear();
  }
}
