// Fan-out of State to WatchWeights streams (and anything else watching). Change notifications arrive
// synchronously from the publisher and the controller; the State is built later, once per burst, so
// the xDS path never waits on admin work and a burst of publishes costs one build.
import { Listeners } from '../core/listeners.js';
import type { State } from '../generated/spillway/admin/v1/State.js';
import type { ChangeCause } from '../control/read-model.js';

export type StateListener = (state: State) => void;

export class StateFeed {
  private readonly listeners = new Listeners<[State]>();
  private pending: ChangeCause | undefined;
  private closed = false;

  constructor(
    private readonly build: (cause: ChangeCause) => State,
    /** How a build is deferred; setImmediate unless a test wants otherwise. */
    private readonly defer: (fn: () => void) => void = (fn) => void setImmediate(fn),
  ) {}

  /** Something changed; listeners get a fresh State soon. The first cause of a burst names it. */
  notify(cause: ChangeCause): void {
    if (this.closed || this.listeners.size === 0) return;
    if (this.pending !== undefined) return;
    this.pending = cause;
    this.defer(() => this.flush());
  }

  subscribe(fn: StateListener): () => void {
    return this.listeners.add(fn);
  }

  get size(): number {
    return this.listeners.size;
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
  }

  private flush(): void {
    const cause = this.pending;
    this.pending = undefined;
    if (cause === undefined || this.closed || this.listeners.size === 0) return;
    this.listeners.emit(this.build(cause));
  }
}
