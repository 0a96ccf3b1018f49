/**
 * Spreads one push over event-loop turns. A snapshot change wakes every stream at once; writing to
 * all of them in one synchronous loop holds the event loop for the whole fan-out (≈40 ms at 1,000
 * streams), and Node's HTTP/2 sessions only put the queued bytes on the wire once the loop turns,
 * so even the first Envoy waited for the last stream's write. Flushing at most `perTurn` streams
 * per turn lets the first responses leave while later ones are still being written, and lets ACKs
 * and load reports in between. Small fan-outs (≤ perTurn streams) stay synchronous.
 */
export class FlushQueue<T> {
  private readonly queue = new Set<T>();
  private usedThisTurn = 0;
  private turnScheduled = false;

  constructor(
    private readonly flush: (item: T) => void,
    private readonly perTurn: number,
    /** How the next turn is reached: setImmediate runs after the pending socket writes. */
    private readonly nextTurn: (fn: () => void) => void = (fn) => void setImmediate(fn),
  ) {
    if (!(perTurn >= 1)) throw new Error(`FlushQueue: perTurn must be ≥ 1, got ${perTurn}`);
  }

  /** Flushes now if this turn has room and nothing is waiting ahead, else in a later turn. */
  add(item: T): void {
    if (this.queue.size === 0 && this.usedThisTurn < this.perTurn) {
      this.usedThisTurn++;
      this.scheduleTurn();
      this.flush(item);
      return;
    }
    this.queue.add(item);
    this.scheduleTurn();
  }

  /** Forgets a queued item (its stream closed). */
  delete(item: T): void {
    this.queue.delete(item);
  }

  get waiting(): number {
    return this.queue.size;
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    this.nextTurn(() => this.runTurn());
  }

  private runTurn(): void {
    this.turnScheduled = false;
    this.usedThisTurn = 0;
    for (const item of this.queue) {
      if (this.usedThisTurn >= this.perTurn) break;
      this.queue.delete(item);
      this.usedThisTurn++;
      try {
        this.flush(item);
      } catch (err) {
        // The rest of the queue still gets its turns.
        this.scheduleTurn();
        throw err;
      }
    }
    if (this.usedThisTurn > 0) this.scheduleTurn();
  }
}
