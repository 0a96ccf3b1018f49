// Stamps every stage of the pipeline as it happens, from Spillway's own hooks and Envoy's admin.
import type { SpillwayApp } from '../../src/app/spillway-app.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import { type AdminPoller, type Counters } from './admin-poller.js';
import { nowMs } from './clock.js';

export interface Stamped<T> {
  at: number;
  v: T;
}

export class PipelineRecorder {
  readonly samples: Stamped<{ runners: number; headroom: number | undefined }>[] = [];
  /** at = the controller tick that decided (Decision.atMs): our listener runs only after publish and send. */
  readonly decisions: Stamped<{ modalWeight: number; mode: string; reason: string; followUp?: string }>[] = [];
  /** at = snapshot built and handed to the cache (its set() pushes to the ADS streams synchronously). */
  readonly publishes: Stamped<{ edsVersion: string }>[] = [];
  readonly sent: Stamped<{ version: string }>[] = [];
  readonly acks: Stamped<{ version: string }>[] = [];
  /** Admin polls whose counters differ from the previous poll (and the first one). */
  readonly admin: Stamped<{ prevAt: number; counters: Counters }>[] = [];
  private readonly offs: Array<() => void> = [];

  /**
   * decider: where Modal is polled (and the controller decides); attached: where decisions are
   * published to Envoy. The same Spillway, unless replicas: then the leader and a follower.
   */
  constructor(
    decider: Pick<SpillwayApp, 'modal'>,
    attached: Pick<SpillwayApp, 'onDecision' | 'cache' | 'events'>,
    readonly poller: AdminPoller,
  ) {
    const app = attached;
    const modal = decider.modal;
    if (modal) {
      this.offs.push(
        modal.poller.onSample((s) => this.samples.push({ at: nowMs(), v: { runners: s.runners, headroom: s.inputHeadroom } })),
      );
    }
    this.offs.push(
      app.onDecision((_s, d) =>
        this.decisions.push({
          at: d.atMs,
          v: {
            modalWeight: d.plan.modalWeight,
            mode: d.mode,
            reason: d.reason,
            ...(d.loadFollowUp ? { followUp: d.loadFollowUp.reason } : {}),
          },
        }),
      ),
    );
    const cache = app.cache;
    const set = cache.set.bind(cache);
    cache.set = (next) => {
      const at = nowMs();
      const changed = set(next);
      if (changed.has(TypeUrl.Endpoint)) this.publishes.push({ at, v: { edsVersion: next.types[TypeUrl.Endpoint].version } });
      return changed;
    };
    this.offs.push(() => {
      cache.set = set;
    });
    this.offs.push(
      app.events.on((e) => {
        if (e.kind === 'sent' && e.typeUrl === TypeUrl.Endpoint) this.sent.push({ at: nowMs(), v: { version: e.version } });
        if (e.kind === 'ack' && e.typeUrl === TypeUrl.Endpoint) this.acks.push({ at: nowMs(), v: { version: e.version } });
      }),
    );
    let last: string | undefined;
    this.offs.push(
      poller.onSample((s) => {
        const key = JSON.stringify(s.counters);
        if (key === last) return;
        last = key;
        this.admin.push({ at: s.atMs, v: { prevAt: s.prevAtMs, counters: s.counters } });
      }),
    );
  }

  /** Counters as of the last poll that answered at or before t. */
  countersAt(t: number): Counters | undefined {
    let found: Counters | undefined;
    for (const a of this.admin) {
      if (a.at > t) break;
      found = a.v.counters;
    }
    return found;
  }

  close(): void {
    for (const off of this.offs) off();
  }
}
