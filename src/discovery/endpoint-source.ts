// One endpoint source kept current: read, apply the grace rule (source-state.ts), read again when the
// reader says (DNS TTL, file poll) or when triggered (a file event). Reads never overlap; clock and
// scheduler are injected.
import type { InHouseEndpoint } from '../config/config-types.js';
import { endpointKeyOf } from '../config/endpoint-key.js';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Cancel, Scheduler } from '../core/scheduler.js';
import { initialSourceState, nextSourceState, SourceHealth, type SourceOutcome, type SourceState } from './source-state.js';

export interface SourceReading {
  outcome: SourceOutcome;
  /** When to read again, from now. */
  nextMs: number;
}

export type SourceReader = () => Promise<SourceReading>;

export interface EndpointSourceDeps {
  clock: Clock;
  scheduler: Scheduler;
  graceMs: number;
  logger?: Logger;
  /** Called after every read that changed the endpoints in force or the source's health. */
  onChange: (state: SourceState) => void;
}

/** Delay before a triggered read, so a burst of file events makes one read. */
const TRIGGER_DELAY_MS = 25;

export class EndpointSource {
  private current: SourceState;
  private cancel: Cancel = () => {};
  private reading = false;
  private again = false;
  private stopped = false;
  private readonly log: Logger;

  constructor(
    readonly name: string,
    private readonly read: SourceReader,
    private readonly deps: EndpointSourceDeps,
  ) {
    this.current = initialSourceState(name);
    this.log = (deps.logger ?? silentLogger).child({ component: 'discovery', source: name });
  }

  /** The first read; resolves when it is done (failed or not). */
  start(): Promise<void> {
    return this.refresh();
  }

  /** Read again soon (a file changed). */
  trigger(): void {
    if (this.stopped) return;
    this.cancel();
    this.cancel = this.deps.scheduler.after(TRIGGER_DELAY_MS, () => void this.refresh());
  }

  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  state(): SourceState {
    return this.current;
  }

  private async refresh(): Promise<void> {
    if (this.stopped) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    let nextMs: number;
    try {
      let reading: SourceReading;
      try {
        reading = await this.read();
      } catch (err) {
        reading = { outcome: { kind: 'failure', problem: errorMessage(err) }, nextMs: 1000 };
      }
      nextMs = reading.nextMs;
      this.apply(reading.outcome);
    } finally {
      this.reading = false;
    }
    if (this.stopped) return;
    if (this.again) {
      this.again = false;
      nextMs = 0;
    }
    // An emptying answer is re-read by the end of its grace period, so it takes effect then.
    const graceEnd = this.current.graceEndsAtMs;
    if (graceEnd !== undefined) nextMs = Math.min(nextMs, Math.max(0, graceEnd - this.deps.clock.nowMs()));
    this.cancel();
    this.cancel = this.deps.scheduler.after(nextMs, () => void this.refresh());
  }

  private apply(outcome: SourceOutcome): void {
    const prev = this.current;
    const next = nextSourceState(prev, outcome, this.deps.clock.nowMs(), this.deps.graceMs);
    this.current = next;
    const endpointsChanged = !sameEndpoints(prev.endpoints, next.endpoints);
    if (next.health !== prev.health || next.problem !== prev.problem) {
      if (next.health === SourceHealth.Ok) this.log.info({ endpoints: next.endpoints.length }, 'endpoint source answering');
      else
        this.log.warn(
          { health: next.health, problem: next.problem, endpoints: next.endpoints.length },
          'endpoint source not answering well',
        );
    }
    if (endpointsChanged) {
      this.log.info({ endpoints: next.endpoints.map(endpointKeyOf) }, 'endpoint set changed');
    }
    if (endpointsChanged || next.health !== prev.health || next.problem !== prev.problem) this.deps.onChange(next);
  }
}

export function sameEndpoints(a: readonly InHouseEndpoint[], b: readonly InHouseEndpoint[]): boolean {
  if (a.length !== b.length) return false;
  const key = (e: InHouseEndpoint): string => `${endpointKeyOf(e)}/${e.capacity}`;
  const as = a.map(key).sort();
  const bs = b.map(key).sort();
  return as.every((k, i) => k === bs[i]);
}
