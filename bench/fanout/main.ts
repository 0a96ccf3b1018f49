// The load tool on its own: N Envoy-like ADS streams against any ADS server, printing progress
// and, for every new EDS version, how long the streams took to receive and ACK it.
//   npx tsx bench/fanout/main.ts --target 127.0.0.1:18000 --streams 1000 --protocol delta
import { parseArgs } from 'node:util';
import { AdsLoadClient, type Protocol } from './ads-load-client.js';
import { percentile, round } from './stats.js';

const HELP = `ads-load: open N Envoy-like ADS streams against an ADS server

  --target host:port       ADS server (required)
  --streams N              number of streams (default 100)
  --protocol sotw|delta    ADS flavour (default sotw)
  --per-channel N          streams per HTTP/2 connection (default 100)
  --open-rate N            stream opens per second at most (default 1000)
  --node-prefix P          node ids are P-00000, P-00001, … (default load)
  --duration S             seconds to stay connected after syncing (default 60)
`;

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    streams: { type: 'string', default: '100' },
    protocol: { type: 'string', default: 'sotw' },
    'per-channel': { type: 'string', default: '100' },
    'open-rate': { type: 'string', default: '1000' },
    'node-prefix': { type: 'string', default: 'load' },
    duration: { type: 'string', default: '60' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help || !values.target || (values.protocol !== 'sotw' && values.protocol !== 'delta')) {
  process.stdout.write(HELP);
  process.exit(values.help ? 0 : 2);
}

const streams = Number(values.streams);
const client = new AdsLoadClient({
  target: values.target,
  streams,
  protocol: values.protocol as Protocol,
  streamsPerChannel: Number(values['per-channel']),
  openPerSecond: Number(values['open-rate']),
  nodePrefix: values['node-prefix'],
});
const t0 = performance.now();
try {
  await client.open();
  await client.waitSynced(120_000);
} catch (err) {
  process.stderr.write(`ads-load: ${err instanceof Error ? err.message : String(err)}\n`);
  client.close();
  process.exit(1);
}
process.stdout.write(`${streams} ${values.protocol} streams synced in ${round(performance.now() - t0)} ms\n`);

// Report each EDS version once most streams have it; stop after --duration seconds.
const reported = new Set<string>();
const seenVersions = (): Set<string> => new Set(client.streams.flatMap((s) => [...s.edsHistory.keys()]));
for (const v of seenVersions()) reported.add(v);
const deadline = Date.now() + Number(values.duration) * 1000;
while (Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 1000));
  for (const v of seenVersions()) {
    if (reported.has(v)) continue;
    const recs = client.edsRecords(v).filter((r) => r !== undefined);
    if (recs.length < client.streams.length) continue;
    reported.add(v);
    const first = Math.min(...recs.map((r) => r.receivedAtMs));
    const acks = recs.map((r) => r.ackedAtMs - first);
    process.stdout.write(
      `EDS ${v}: all ${recs.length} ACKed; since first receipt p50 ${round(percentile(acks, 0.5))} ms, p99 ${round(percentile(acks, 0.99))} ms, last ${round(Math.max(...acks))} ms\n`,
    );
  }
}
process.stdout.write(`${JSON.stringify(client.stats())}\n`);
client.close();
process.exit(0);
