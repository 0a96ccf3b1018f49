// The long and large traffic of issue 16 at full size, through a real Envoy to an in-house host and to
// the fake Modal over TLS: a 40 s request, a 4 GiB upload and a 4 GiB download (Modal's body limit),
// and a 60 s WebSocket, on each tier. Envoy's RSS is sampled throughout. CI runs the same cases
// smaller (test/integration/traffic-long-big.test.ts).
//
//   npm run bench:traffic   (= tsx bench/traffic/main.ts [--gib 4] [--long-s 40] [--ws-s 60])
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { planForShare } from '../../src/model/traffic-plan.js';
import { PIN_HEADER, servedBy, startTrafficRig } from '../../tools/traffic-rig.js';

const { values } = parseArgs({
  options: {
    gib: { type: 'string', default: '4' },
    'long-s': { type: 'string', default: '40' },
    'ws-s': { type: 'string', default: '60' },
  },
});
const BYTES = Math.round(Number(values.gib) * 1024 ** 3);
const LONG_MS = Number(values['long-s']) * 1000;
const WS_S = Number(values['ws-s']);
const MiB = 1024 * 1024;

const rssOf = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

function uploadStream(bytes: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(256 * 1024).fill(0x62);
  let left = bytes;
  return new ReadableStream({
    pull(controller) {
      if (left <= 0) return controller.close();
      const n = Math.min(left, chunk.length);
      left -= n;
      controller.enqueue(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

interface Row {
  tier: string;
  case: string;
  ok: boolean;
  seconds: number;
  mibPerS?: number;
  envoyRssBeforeMiB: number;
  envoyRssPeakMiB: number;
  note: string;
}

async function main(): Promise<void> {
  const rig = await startTrafficRig({ modal: { minContainers: 1 } });
  const pid = rig.envoy.process.pid!;
  const rows: Row[] = [];
  /** Runs fn while sampling Envoy's RSS every 100 ms. */
  const measured = async (tier: string, name: string, fn: () => Promise<{ ok: boolean; note: string; bytes?: number }>): Promise<void> => {
    const before = rssOf(pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 100);
    const t0 = performance.now();
    const r = await fn().catch((e: unknown) => ({ ok: false, note: String(e) }) as { ok: boolean; note: string; bytes?: number });
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const row: Row = {
      tier,
      case: name,
      ok: r.ok,
      seconds: Math.round(seconds * 10) / 10,
      envoyRssBeforeMiB: Math.round((before / MiB) * 10) / 10,
      envoyRssPeakMiB: Math.round((peak / MiB) * 10) / 10,
      note: r.note,
    };
    if (r.bytes !== undefined) row.mibPerS = Math.round(r.bytes / MiB / seconds);
    rows.push(row);
    console.log(JSON.stringify(row));
  };
  try {
    await rig.setPlan(planForShare(0.5));
    const tiers = [
      { name: 'in-house', pin: rig.pinInHouse(0) },
      { name: 'modal', pin: rig.pinModal() },
    ];
    for (const t of tiers) {
      const headers = { [PIN_HEADER]: t.pin };
      await measured(t.name, `${LONG_MS / 1000} s request`, async () => {
        const res = await fetch(`${rig.base}/long?ms=${LONG_MS}`, { headers, redirect: 'manual' });
        await res.arrayBuffer();
        return { ok: res.status === 200, note: `${res.status} from ${servedBy(res)}` };
      });
      await measured(t.name, `${values.gib} GiB upload`, async () => {
        const res = await fetch(`${rig.base}/upload`, {
          method: 'POST',
          headers,
          body: uploadStream(BYTES),
          duplex: 'half',
        } as RequestInit);
        const got = ((await res.json()) as { bytesReceived: number }).bytesReceived;
        return { ok: res.status === 200 && got === BYTES, note: `${res.status}, ${got} bytes at ${servedBy(res)}`, bytes: BYTES };
      });
      await measured(t.name, `${values.gib} GiB download`, async () => {
        const res = await fetch(`${rig.base}/download?bytes=${BYTES}`, { headers });
        let got = 0;
        for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) got += c.length;
        return { ok: res.status === 200 && got === BYTES, note: `${res.status}, ${got} bytes from ${servedBy(res)}`, bytes: BYTES };
      });
      await measured(t.name, `${WS_S} s WebSocket`, async () => {
        const ws = new WebSocket(`${rig.base.replace('http', 'ws')}/ws`, { headers });
        let echoes = 0;
        const senders = new Set<string>();
        ws.on('message', (m) => {
          echoes++;
          const s = m.toString();
          senders.add(s.slice(0, s.lastIndexOf(':')));
        });
        await new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('error', reject);
        });
        const sent = WS_S * 10;
        for (let i = 0; i < sent; i++) {
          ws.send(`m${i}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        await new Promise((r) => setTimeout(r, 500));
        ws.close();
        return { ok: echoes === sent && senders.size === 1, note: `${echoes}/${sent} echoed by ${[...senders].join(', ')}` };
      });
    }
  } finally {
    await rig.close();
  }
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/traffic-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), cpus: cpus().length, bytes: BYTES, rows }, null, 2));
  console.log(`wrote ${file}`);
  if (rows.some((r) => !r.ok)) process.exitCode = 1;
}

void main();
