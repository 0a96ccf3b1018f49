// What sync status costs on the xDS path: per stream and push, one 'sent' and one 'ack' event go
// through SyncStatus (per-type rows plus the per-resource tracks CSDS reads). Simulates N streams
// receiving P pushes of one changed ClusterLoadAssignment each, and reports ns per stream-push.
// Run: npx tsx bench/sync-status/main.ts [--streams 1000] [--pushes 200] [--resources 1]
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { nodeInfoOf } from '../../src/xds/node-info.js';
import type { EncodedResource } from '../../src/xds/snapshot.js';
import { SyncStatus } from '../../src/xds/sync-status.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import { XdsEvents } from '../../src/xds/xds-events.js';

const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '1000' },
    pushes: { type: 'string', default: '200' },
    resources: { type: 'string', default: '1' },
  },
});
const streams = Number(values.streams);
const pushes = Number(values.pushes);
const perPush = Number(values.resources);

let now = 0;
const events = new XdsEvents();
const status = new SyncStatus({ clock: { nowMs: () => now }, events, currentVersion: () => undefined });
for (let s = 1; s <= streams; s++) {
  const nodeId = `envoy-${s}`;
  events.emit({
    kind: 'stream-opened',
    streamId: s,
    nodeId,
    cluster: 'edge',
    node: nodeInfoOf({ id: nodeId }),
    protocol: 'sotw',
    atMs: now,
  });
}
const resource = (i: number, v: number): EncodedResource => ({
  name: `svc-${i}`,
  version: `r${v}`,
  typeUrl: TypeUrl.Endpoint,
  value: Buffer.alloc(450),
});

const run = (from: number, to: number): number => {
  const t0 = performance.now();
  for (let p = from; p < to; p++) {
    now += 1000;
    const content = Array.from({ length: perPush }, (_, i) => resource(i, p));
    for (let s = 1; s <= streams; s++) {
      const nodeId = `envoy-${s}`;
      const nonce = `n${p}`;
      events.emit({
        kind: 'sent',
        streamId: s,
        nodeId,
        typeUrl: TypeUrl.Endpoint,
        version: `v${p}`,
        nonce,
        resources: perPush,
        bytes: 450 * perPush,
        content,
        removed: [],
        atMs: now,
      });
      events.emit({ kind: 'ack', streamId: s, nodeId, typeUrl: TypeUrl.Endpoint, version: `v${p}`, nonce, atMs: now + 5 });
    }
  }
  return performance.now() - t0;
};

run(0, Math.min(50, pushes)); // warm-up
const ms = run(50, 50 + pushes);
const perStreamPush = (ms * 1e6) / (streams * pushes);
const heapMiB = process.memoryUsage().heapUsed / 2 ** 20;
const tracked = status.resources('envoy-1', TypeUrl.Endpoint).size;
if (tracked !== perPush) throw new Error(`expected ${perPush} tracked resources per stream, got ${tracked}`);
console.log(
  `sync status: ${streams} streams × ${pushes} pushes of ${perPush} resource(s): ${perStreamPush.toFixed(0)} ns per stream-push (sent + ack), ` +
    `${(ms / pushes).toFixed(2)} ms per push across all streams; heap ${heapMiB.toFixed(0)} MiB`,
);
