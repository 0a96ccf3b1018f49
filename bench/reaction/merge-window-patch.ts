// Spillway's published Cluster leaves common_lb_config.update_merge_window unset, so Envoy applies
// its 1 s default. To measure the alternative without editing src/, the benchmark re-encodes the
// Cluster resources of every snapshot with an explicit window before the cache stores them.
import type { SpillwayApp } from '../../src/app/spillway-app.js';
import { loadProtos } from '../../src/protos/load-protos.js';
import type { Snapshot, TypeSnapshot } from '../../src/xds/snapshot.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import { createHash } from 'node:crypto';

const hash = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex').slice(0, 16);

export function withMergeWindow(app: SpillwayApp, windowMs: number): void {
  const { protos } = loadProtos();
  const def = protos.envoy.config.cluster.v3.Cluster;
  const cache = app.cache;
  const set = cache.set.bind(cache);
  const patchType = (t: TypeSnapshot): TypeSnapshot => {
    const resources = new Map<string, TypeSnapshot['resources'] extends ReadonlyMap<string, infer R> ? R : never>();
    for (const [name, r] of t.resources) {
      const cluster = def.deserialize(r.value) as Record<string, any>;
      cluster['common_lb_config'] = {
        ...(cluster['common_lb_config'] ?? {}),
        update_merge_window: { seconds: Math.floor(windowMs / 1000), nanos: (windowMs % 1000) * 1_000_000 },
      };
      const value = def.serialize(cluster as never);
      resources.set(name, Object.freeze({ ...r, value, version: hash(value) }));
    }
    const version = hash([...resources.values()].map((r) => `${r.name}\u0000${r.version}`).join('\n'));
    return Object.freeze({ version, resources });
  };
  cache.set = (next: Snapshot) =>
    set(Object.freeze({ types: Object.freeze({ ...next.types, [TypeUrl.Cluster]: patchType(next.types[TypeUrl.Cluster]) }) }) as Snapshot);
  app.publisher.publish();
}
