// What long and large traffic does through a real Envoy, to an in-house host and to Modal (the fake's
// TLS web side): long requests are not cut, Modal's 303 passes through and can be followed, big
// bodies stream without Envoy buffering them, WebSockets upgrade and echo, and a client that leaves
// cancels the upstream request. CI sizes (20 s, 256 MiB, a few seconds of WebSocket) prove the
// point; BENCHMARKS.md has the 40 s / 4 GiB / 60 s runs (bench/traffic).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { planForShare } from '../../src/model/traffic-plan.js';
import { waitFor } from '../../tools/wait-for.js';
import { MODAL_HOST, PIN_HEADER, servedBy, startTrafficRig, type TrafficRig } from '../../tools/traffic-rig.js';

const MiB = 1024 * 1024;
const BODY = 256 * MiB;
const LONG_MS = 20_000;

/** Envoy's resident memory, from /proc. */
const rssOf = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

/** A body of `bytes` produced 64 KiB at a time as the request pulls it. */
function uploadStream(bytes: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(64 * 1024).fill(0x62);
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

describe('long requests, 303s, big bodies, WebSockets and disconnects through Envoy', () => {
  let rig: TrafficRig;
  let tiers: { name: string; pin: () => string }[];
  let longRequests: Promise<{ tier: string; status: number; place: string; ms: number }[]>;

  beforeAll(async () => {
    rig = await startTrafficRig({ modal: { minContainers: 1 } });
    await rig.setPlan(planForShare(0.5));
    tiers = [
      { name: 'in-house', pin: () => rig.pinInHouse(0) },
      { name: 'modal', pin: () => rig.pinModal() },
    ];
    // The long requests run while the other cases do, to keep the suite short; checked last.
    longRequests = Promise.all(
      tiers.map(async (t) => {
        const started = performance.now();
        const res = await fetch(`${rig.base}/long?ms=${LONG_MS}`, { headers: { [PIN_HEADER]: t.pin() }, redirect: 'manual' });
        await res.arrayBuffer();
        return { tier: t.name, status: res.status, place: servedBy(res), ms: performance.now() - started };
      }),
    );
    // Both have reached their tier before any case changes the fake's settings.
    await waitFor(
      () => rig.inHouse[0]!.state().inFlight === 1 && rig.fake.state().functions[0]!.stats.runningInputs === 1,
      10_000,
      'the long requests to arrive',
    );
  });
  afterAll(async () => {
    await rig?.close();
  });

  it("passes Modal's 303 for a request past its time limit through unchanged; following Location gets the result", async () => {
    rig.fake.setFaults({ redirectAfterMs: 1000 }); // Modal: 150 s
    const res = await fetch(`${rig.base}/render?ms=3000`, { headers: { [PIN_HEADER]: rig.pinModal() }, redirect: 'manual' });
    rig.fake.setFaults({});
    expect(res.status).toBe(303);
    const location = res.headers.get('location') ?? '';
    // Modal's own URL (its hostname, as Envoy's Host rewrite sent it), the path and query, plus the call id.
    expect(location).toMatch(new RegExp(`^https://${MODAL_HOST.replace(/\./g, '\\.')}/render\\?ms=3000&__modal_function_call_id=fc-\\d+$`));
    expect(((await res.json()) as { result_url: string }).result_url).toBe(location);
    const result = await rig.fetchModalUrl(location);
    expect(result.status).toBe(200);
    // The 3 s call's own result: the fake measures it on the wall clock, which a 3,000 ms timer can
    // undershoot by a millisecond (Node's timers run on the monotonic clock).
    expect((JSON.parse(result.body) as { serviceMs: number }).serviceMs).toBeGreaterThanOrEqual(2990);
  });

  it('streams a 256 MiB upload and a 256 MiB download to each tier without Envoy buffering them', async () => {
    const pid = rig.envoy.process.pid!;
    for (const t of tiers) {
      const before = rssOf(pid);
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 50);
      try {
        const up = await fetch(`${rig.base}/upload`, {
          method: 'POST',
          headers: { [PIN_HEADER]: t.pin(), 'content-type': 'application/octet-stream' },
          body: uploadStream(BODY),
          duplex: 'half',
        } as RequestInit);
        expect(up.status, t.name).toBe(200);
        expect(servedBy(up).startsWith(t.name === 'modal' ? 'modal:' : 'inhouse-')).toBe(true);
        expect(((await up.json()) as { bytesReceived: number }).bytesReceived).toBe(BODY);

        const down = await fetch(`${rig.base}/download?bytes=${BODY}`, { headers: { [PIN_HEADER]: t.pin() } });
        expect(down.status, t.name).toBe(200);
        let received = 0;
        for await (const chunk of down.body as unknown as AsyncIterable<Uint8Array>) received += chunk.length;
        expect(received).toBe(BODY);
      } finally {
        clearInterval(sampler);
      }
      // Buffering either body would grow Envoy by ~256 MiB; streaming costs it a few buffers.
      expect(peak - before, `${t.name}: Envoy RSS grew ${((peak - before) / MiB).toFixed(1)} MiB`).toBeLessThan(32 * MiB);
    }
  });

  it('upgrades a WebSocket to each tier and echoes messages for its whole life', async () => {
    const seconds = 3; // 60 s in the benchmark run (BENCHMARKS.md)
    for (const t of tiers) {
      const ws = new WebSocket(`${rig.base.replace('http', 'ws')}/ws`, { headers: { [PIN_HEADER]: t.pin() } });
      const echoes: string[] = [];
      ws.on('message', (m) => echoes.push(m.toString()));
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const sent = seconds * 10;
      for (let i = 0; i < sent; i++) {
        ws.send(`m${i}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await waitFor(() => echoes.length === sent, 5_000, `${t.name} echoes`);
      ws.close();
      // In-house answers "<host>:m<i>", Modal "<container>:m<i>": one sender for the whole connection.
      const senders = new Set(echoes.map((e) => e.slice(0, e.lastIndexOf(':'))));
      expect(senders.size).toBe(1);
      expect([...senders][0]!.startsWith(t.name === 'modal' ? 'ta-' : 'inhouse-'), t.name).toBe(true);
      expect(echoes.map((e) => e.slice(e.lastIndexOf(':') + 1))).toEqual(Array.from({ length: sent }, (_, i) => `m${i}`));
    }
  });

  it(`serves a ${LONG_MS / 1000} s request on each tier: no 15 s default timeout anywhere on the path`, async () => {
    const results = await longRequests;
    for (const r of results) {
      expect(r.status, r.tier).toBe(200);
      expect(r.place.startsWith(r.tier === 'modal' ? 'modal:' : 'inhouse-'), r.place).toBe(true);
      expect(r.ms).toBeGreaterThanOrEqual(LONG_MS);
    }
  });
  it('a client that disconnects mid-request cancels the upstream request; Modal stops running (and billing) the input', async () => {
    const billing = (): { inputMs: number; cancelledInputs: number } => rig.fake.state().functions[0]!.billing;
    const cancelledBefore = billing().cancelledInputs;
    const host = rig.inHouse[0]!;
    const hostCancelledBefore = host.state().cancelled;
    for (const t of tiers) {
      const abort = new AbortController();
      const pending = fetch(`${rig.base}/slow?ms=60000`, { headers: { [PIN_HEADER]: t.pin() }, signal: abort.signal }).catch(
        (e: unknown) => e,
      );
      await new Promise((r) => setTimeout(r, 1000));
      abort.abort();
      await pending;
    }
    await waitFor(() => host.state().cancelled === hostCancelledBefore + 1, 5_000, 'the in-house host to see the cancellation');
    await waitFor(() => billing().cancelledInputs === cancelledBefore + 1, 5_000, 'the fake Modal to cancel the input');
    // Cancelled inputs stop accruing time: nothing else runs now (the long requests are done), so input time stands still.
    const accrued = billing().inputMs;
    await new Promise((r) => setTimeout(r, 500));
    expect(billing().inputMs).toBe(accrued);
    expect(rig.fake.state().functions[0]!.stats.runningInputs).toBe(0);
  });
});
