// `npm run bench:failover`: how long a group of replicas goes without a leader when its leader dies
// (kill -9) or stops (SIGTERM: it revokes its lease on the way out), over repeated rounds. Three
// `spillway serve` processes on a real etcd, the fake Modal behind the official SDK, one service the
// controller drives. Per round: the leader is killed (or stopped); stamps are taken from an etcd watch
// on the group — the old leader's election key deleted, the new leader's memory write (the first
// fenced write under its token: control resumed) — and from polling a survivor's admin API (when it
// reports the new leader). The replica is then started again and the next round begins.
// Writes bench/results/failover-<time>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Etcd3, type IKeyValue } from 'etcd3';
import { percentile } from '../../src/core/percentile.js';
import { startEtcd } from '../../tools/etcd/etcd-process.js';
import { startFakeModal } from '../../tools/fake-modal/start-fake-modal.js';
import { freePort } from '../../tools/ports.js';
import { startReplicaGroup, type ReplicaProcess } from '../../tools/replicas/replica-group.js';
import { waitFor } from '../../tools/wait-for.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    ttl: { type: 'string', default: '5' },
    signals: { type: 'string', default: 'SIGKILL,SIGTERM' },
  },
});
const rounds = Number(values.rounds);
const ttlS = Number(values.ttl);
const signals = values.signals!.split(',') as NodeJS.Signals[];
const log = (s: string): void => void process.stdout.write(`${s}\n`);

const MODAL_HOST = 'spillway-failover--echo.modal.run';
const etcd = await startEtcd({ fast: false, args: ['--auto-compaction-mode', 'periodic', '--auto-compaction-retention', '5m'] });
const fake = await startFakeModal({ functions: [{ appName: 'spillway-failover', functionName: 'echo' }], tlsNames: [MODAL_HOST] });
const group = await startReplicaGroup({
  etcd,
  replicas: 3,
  leaseTtlS: ttlS,
  env: { MODAL_SERVER_URL: fake.controlUrl, MODAL_TOKEN_ID: 'ak-bench', MODAL_TOKEN_SECRET: 'as-bench' },
  logLevel: process.env['SPILLWAY_LOG_LEVEL'] ?? 'warn',
  config: {
    controller: { tick_ms: 250 },
    modal_api: { poll_interval_ms: 1000, timeout_ms: 1000 },
    services: [
      {
        name: 'echo',
        listener: `127.0.0.1:${await freePort()}`,
        in_house: { endpoints: [{ address: '127.0.0.1', port: 9, capacity: 8 }] },
        modal: {
          url: `https://${MODAL_HOST}:${new URL(fake.httpsUrl).port}`,
          connect_address: '127.0.0.1',
          app: 'spillway-failover',
          function: 'echo',
          max_containers: 5,
          ca_bundle: fake.caPath,
        },
        capacity: { policy: 'default' },
      },
    ],
  },
});

/** etcd's view of the group: when election keys go and when a leader first writes its memory. */
const events: Array<{ at: number; kind: 'election-delete' | 'memory'; key: string; epoch?: string }> = [];
const client = new Etcd3({ hosts: etcd.url });
const watcher = await client.namespace(`${group.prefix}/`).watch().prefix('').create();
watcher.on('delete', (kv: IKeyValue) => {
  const key = kv.key.toString();
  if (key.startsWith('election/')) events.push({ at: Date.now(), kind: 'election-delete', key });
});
watcher.on('put', (kv: IKeyValue) => {
  const key = kv.key.toString();
  if (key.startsWith('controller/'))
    events.push({ at: Date.now(), kind: 'memory', key, epoch: (JSON.parse(kv.value.toString()) as { epoch: string }).epoch });
});

interface Round {
  signal: NodeJS.Signals;
  from: string;
  to: string;
  /** Signal → the old leader's election key gone from etcd (lease expiry, or revoke). */
  keyGoneMs: number | null;
  /** Signal → a survivor's admin API names the new leader. */
  newLeaderMs: number;
  /** Signal → the new leader's first fenced write (its controller memory): control resumed. */
  controlMs: number | null;
}

const results: Round[] = [];
const started = new Date();
try {
  for (const r of group.replicas) await r.start();
  const first = group.replicas[0]!;
  await waitFor(async () => (await group.leader(first)) !== undefined, 30_000, 'a leader');
  for (let i = 0; i < rounds; i++) {
    const signal = signals[i % signals.length]!;
    const leader = (await group.leader())!;
    const survivor = group.replicas.find((r) => r !== leader && r.process())!;
    const epochBefore = (await survivor.state()).replication?.fencing_token ?? '';
    // Let a few memory writes under the old leader pass, at a random phase against its tick.
    await new Promise((r) => setTimeout(r, 1_000 + Math.random() * 1_000));
    const since = Date.now();
    leader.signal(signal);
    const to = await waitFor(
      async () => {
        const l = (await survivor.state().catch(() => undefined))?.replication?.leader_id;
        return l && l !== leader.id ? l : undefined;
      },
      (ttlS + 10) * 1000,
      'a new leader',
      10,
    );
    const newLeaderMs = Date.now() - since;
    await waitFor(
      () => events.some((e) => e.at >= since && e.kind === 'memory' && e.epoch !== epochBefore),
      10_000,
      'the new leader writing',
    ).catch(() => undefined);
    const keyGone = events.find((e) => e.at >= since && e.kind === 'election-delete');
    const control = events.find((e) => e.at >= since && e.kind === 'memory' && e.epoch !== epochBefore);
    const round: Round = {
      signal,
      from: leader.id,
      to,
      keyGoneMs: keyGone ? keyGone.at - since : null,
      newLeaderMs,
      controlMs: control ? control.at - since : null,
    };
    results.push(round);
    log(
      `round ${i + 1}/${rounds} ${signal}: ${leader.id} → ${to}: key gone ${round.keyGoneMs} ms, new leader seen ${newLeaderMs} ms, control ${round.controlMs} ms (load ${loadavg()[0]!.toFixed(1)})`,
    );
    await leader.exited();
    await restart(leader);
  }
} finally {
  await watcher.cancel().catch(() => {});
  client.close();
  await group.close();
  await etcd.close();
  await fake.close();
}

async function restart(r: ReplicaProcess): Promise<void> {
  await r.start();
  await waitFor(async () => (await r.state()).replication?.leader_id, 30_000, `${r.id} back in the group`);
}

const summary = Object.fromEntries(
  signals.map((sig) => {
    const rs = results.filter((r) => r.signal === sig);
    const stat = (xs: Array<number | null>): { n: number; p50: number; p99: number; max: number } | null => {
      const v = xs.filter((x): x is number => x !== null);
      return v.length ? { n: v.length, p50: percentile(v, 0.5), p99: percentile(v, 0.99), max: Math.max(...v) } : null;
    };
    return [
      sig,
      {
        keyGoneMs: stat(rs.map((r) => r.keyGoneMs)),
        newLeaderMs: stat(rs.map((r) => r.newLeaderMs)),
        controlMs: stat(rs.map((r) => r.controlMs)),
      },
    ];
  }),
);
const out = {
  started: started.toISOString(),
  finished: new Date().toISOString(),
  command: `npm run bench:failover -- --rounds ${rounds} --ttl ${ttlS} --signals ${signals.join(',')}`,
  machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavgAtEnd: loadavg() },
  leaseTtlS: ttlS,
  summary,
  rounds: results,
};
mkdirSync('bench/results', { recursive: true });
const path = `bench/results/failover-${started.toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(path, `${JSON.stringify(out, null, 1)}\n`);
log(`\n${JSON.stringify(summary, null, 1)}\n\nwrote ${path}`);
process.exit(0);
