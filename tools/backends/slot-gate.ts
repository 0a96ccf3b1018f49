// A host's limited concurrency: `slots` requests in service at once, then a bounded FIFO queue, then
// refusal. This is what makes an in-house backend saturate like a real one (and what Envoy's circuit
// breakers and Spillway's spill decisions are meant to stay ahead of).

export interface SlotTicket {
  /** Resolves once this request holds a slot. */
  readonly granted: Promise<void>;
  /** Frees the slot, or leaves the queue if still waiting. Safe to call more than once. */
  release(): void;
}

export class SlotGate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly slots: number,
    readonly queueLimit: number,
  ) {
    if (!Number.isInteger(slots) || slots < 1) throw new Error(`slots must be a positive integer, got ${slots}`);
    if (!Number.isInteger(queueLimit) || queueLimit < 0) throw new Error(`queue must be a non-negative integer, got ${queueLimit}`);
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** A ticket, or undefined when every slot is busy and the queue is full (the caller answers 503). */
  tryAcquire(): SlotTicket | undefined {
    if (this.active < this.slots) {
      this.active++;
      return this.ticket(Promise.resolve(), () => true);
    }
    if (this.waiting.length >= this.queueLimit) return undefined;
    let holding = false;
    let wake: () => void = () => {};
    const granted = new Promise<void>((resolve) => {
      wake = () => {
        holding = true;
        resolve();
      };
    });
    this.waiting.push(wake);
    return this.ticket(granted, () => holding, wake);
  }

  private ticket(granted: Promise<void>, holds: () => boolean, queuedWake?: () => void): SlotTicket {
    let released = false;
    return {
      granted,
      release: () => {
        if (released) return;
        released = true;
        if (holds()) {
          this.active--;
          this.promote();
        } else if (queuedWake) {
          const i = this.waiting.indexOf(queuedWake);
          if (i >= 0) this.waiting.splice(i, 1);
        }
      },
    };
  }

  /** Hands a freed slot to the oldest waiter. */
  private promote(): void {
    const next = this.waiting.shift();
    if (!next) return;
    this.active++;
    next();
  }
}
