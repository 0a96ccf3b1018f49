// Responses list resources in name order, so that streams with equal subscriptions send equal
// bytes (and share one encoded body). Subscription sets are immutable—a change makes a new Set—so
// the sorted list is computed once per set rather than once per stream per push.
const cache = new WeakMap<ReadonlySet<string>, readonly string[]>();

export function sortedNames(names: ReadonlySet<string>): readonly string[] {
  let sorted = cache.get(names);
  if (!sorted) {
    sorted = [...names].sort();
    cache.set(names, sorted);
  }
  return sorted;
}
