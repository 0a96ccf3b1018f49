import type { Cancel } from '../core/scheduler.js';
import type { Snapshot } from './snapshot.js';
import { ADS_ORDER, type TypeUrl } from './type-urls.js';

export type SnapshotWatcher = (snapshot: Snapshot, changed: ReadonlySet<TypeUrl>) => void;

/**
 * Holds the current snapshot and wakes watchers for the types that changed. Setting a snapshot
 * whose versions all equal the current ones is a no-op: nothing is pushed for identical state.
 */
export class SnapshotCache {
  private snapshot: Snapshot | undefined;
  private readonly watchers = new Map<SnapshotWatcher, ReadonlySet<TypeUrl>>();

  current(): Snapshot | undefined {
    return this.snapshot;
  }

  /** Returns the types whose version changed (empty when the state is identical). */
  set(next: Snapshot): ReadonlySet<TypeUrl> {
    const prev = this.snapshot;
    const changed = new Set<TypeUrl>();
    for (const t of ADS_ORDER) {
      if (!prev || prev.types[t].version !== next.types[t].version) changed.add(t);
    }
    if (changed.size === 0) return changed;
    this.snapshot = next;
    for (const [watcher, types] of this.watchers) {
      if ([...changed].some((t) => types.has(t))) watcher(next, changed);
    }
    return changed;
  }

  /** Calls watcher whenever one of the given types changes. */
  watch(types: ReadonlySet<TypeUrl>, watcher: SnapshotWatcher): Cancel {
    this.watchers.set(watcher, types);
    return () => {
      this.watchers.delete(watcher);
    };
  }

  watcherCount(): number {
    return this.watchers.size;
  }
}
