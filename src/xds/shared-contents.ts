// Immutable name sets and name → version maps shared by every delta stream that holds the same
// contents. Ten thousand Envoys subscribed to the same names and holding the same versions would
// otherwise keep ten thousand equal copies; here they hold one. Two ways to the shared copy:
// - by content (internSet, internMap): for the rare steps that build a set or map from a request;
// - by transition (mapAfter): for the step every stream takes on every push (the client got these
//   resources), cached per starting map so that only the first stream pays for building the next.
// Every value is held weakly: contents no stream holds any more are collected.

/** Values by key, held weakly: an entry goes once its value is collected, or (maxEntries) the oldest when full. */
export class WeakTable<T extends object> {
  private readonly byKey = new Map<string, WeakRef<T>>();
  private readonly cleanup = new FinalizationRegistry<string>((key) => {
    if (this.byKey.get(key)?.deref() === undefined) this.byKey.delete(key);
  });

  constructor(private readonly maxEntries = Infinity) {}

  get(key: string): T | undefined {
    return this.byKey.get(key)?.deref();
  }

  set(key: string, value: T): T {
    if (this.byKey.size >= this.maxEntries) {
      for (const [k, ref] of this.byKey) if (ref.deref() === undefined) this.byKey.delete(k);
      if (this.byKey.size >= this.maxEntries) this.byKey.delete(this.byKey.keys().next().value!);
    }
    this.byKey.set(key, new WeakRef(value));
    this.cleanup.register(value, key);
    return value;
  }
}

/**
 * One string of a key, length-prefixed: names come from clients (subscriptions, initial versions)
 * and may hold any character, so no separator could keep two different contents' keys apart, and a
 * collision would hand one Envoy another's subscription.
 */
export function keyPart(s: string): string {
  return `${s.length}:${s}`;
}

/**
 * Larger contents are not shared by content: building their key costs as much as the contents, on
 * every request that changes them. Fleets subscribe to far fewer names than this.
 */
export const MAX_SHARED_ENTRIES = 1024;

const sets = new WeakTable<ReadonlySet<string>>();
const maps = new WeakTable<ReadonlyMap<string, string>>();

/** The shared set with the same names (insertion order is not kept: readers sort, see sorted-names.ts). */
export function internSet(names: ReadonlySet<string>): ReadonlySet<string> {
  if (names.size > MAX_SHARED_ENTRIES) return names;
  const key = [...names].sort().map(keyPart).join('');
  return sets.get(key) ?? sets.set(key, names);
}

/** The shared map with the same entries (iteration order is not kept). */
export function internMap(entries: ReadonlyMap<string, string>): ReadonlyMap<string, string> {
  if (entries.size > MAX_SHARED_ENTRIES) return entries;
  const key = [...entries]
    .map(([name, version]) => keyPart(name) + keyPart(version))
    .sort()
    .join('');
  return maps.get(key) ?? maps.set(key, entries);
}

/** Per starting map, the maps its transitions led to, by the transition's key. */
const transitions = new WeakMap<ReadonlyMap<string, string>, WeakTable<ReadonlyMap<string, string>>>();

/**
 * `prev` with `set` (name → version) applied, then `removed` deleted: the shared result. The key is
 * built from the change alone (a push changes one or a few resources), so a cache hit costs about
 * as much as the change is long, not as much as the map is large.
 */
export function mapAfter(
  prev: ReadonlyMap<string, string>,
  set: readonly { name: string; version: string }[],
  removed: readonly string[],
): ReadonlyMap<string, string> {
  let key = '';
  for (const r of set) key += keyPart(r.name) + keyPart(r.version);
  for (const n of removed) key += `-${keyPart(n)}`;
  let table = transitions.get(prev);
  const known = table?.get(key);
  if (known) return known;
  const next = new Map(prev);
  for (const r of set) next.set(r.name, r.version);
  for (const n of removed) next.delete(n);
  if (!table) transitions.set(prev, (table = new WeakTable()));
  return table.set(key, internMap(next));
}
