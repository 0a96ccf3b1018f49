import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../tools/wait-for.js';
import { startInHouseBackend, STATE_PATH, type InHouseBackend, type InHouseBackendState } from '../../tools/backends/in-house-backend.js';
import { SlotGate } from '../../tools/backends/slot-gate.js';

const open: InHouseBackend[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((b) => b.close()));
});

async function start(opts: Parameters<typeof startInHouseBackend>[0]): Promise<InHouseBackend> {
  const b = await startInHouseBackend(opts);
  open.push(b);
  return b;
}

async function get(url: string): Promise<{ status: number; servedBy: string | null; tier: string | null; body: unknown }> {
  const res = await fetch(url);
  return { status: res.status, servedBy: res.headers.get('x-served-by'), tier: res.headers.get('x-tier'), body: await res.json() };
}

async function stateOf(b: InHouseBackend): Promise<InHouseBackendState> {
  return (await get(`${b.url}${STATE_PATH}`)).body as InHouseBackendState;
}

describe('in-house backend', () => {
  it('serves at most `slots` requests at once and queues the rest in order', async () => {
    const b = await start({ name: 'in-house-a', slots: 2, queue: 10 });
    const t0 = performance.now();
    const all = Promise.all(Array.from({ length: 6 }, () => get(`${b.url}/work?ms=300`)));
    // Read the moment all six are in: two in service, four waiting.
    const mid = await waitFor(() => (b.state().queued === 4 ? b.state() : undefined), 5000, 'four queued requests', 5);
    expect(mid).toMatchObject({ inFlight: 2, queued: 4, served: 0, rejected: 0 });
    const results = await all;
    const elapsed = performance.now() - t0;
    expect(results.every((r) => r.status === 200 && r.servedBy === 'in-house-a' && r.tier === 'in-house')).toBe(true);
    // Three waves of two: the queue really waits for a slot.
    expect(elapsed).toBeGreaterThanOrEqual(3 * 300 - 20);
    expect(await stateOf(b)).toMatchObject({ inFlight: 0, queued: 0, served: 6, rejected: 0, maxInFlight: 2 });
  });

  it('answers 503 (still naming itself) once slots and queue are full', async () => {
    const b = await start({ name: 'in-house-b', slots: 1, queue: 2, serviceMs: 200 });
    const results = await Promise.all(Array.from({ length: 5 }, () => get(`${b.url}/`)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 503, 503]);
    for (const r of results) expect([r.servedBy, r.tier]).toEqual(['in-house-b', 'in-house']);
    const s = await stateOf(b);
    expect(s).toMatchObject({
      name: 'in-house-b',
      slots: 1,
      queueLimit: 2,
      inFlight: 0,
      queued: 0,
      served: 3,
      rejected: 2,
      maxInFlight: 1,
    });
  });

  it('takes ?ms= as the service time and --service-ms otherwise', async () => {
    const b = await start({ serviceMs: 300 });
    let t0 = performance.now();
    const r = await get(`${b.url}/`);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(r.body).toMatchObject({ servedBy: 'in-house-1', serviceMs: 300 });
    t0 = performance.now();
    expect((await get(`${b.url}/?ms=0`)).body).toMatchObject({ serviceMs: 0 });
    expect(performance.now() - t0).toBeLessThan(250);
  });

  it('gives a queued place back when its client hangs up', async () => {
    const b = await start({ slots: 1, queue: 1 });
    const busy = get(`${b.url}/?ms=1500`);
    await waitFor(() => b.state().inFlight === 1, 5000, 'the busy request', 5);
    const ac = new AbortController();
    const gone = fetch(`${b.url}/?ms=10`, { signal: ac.signal }).catch(() => 'aborted');
    await waitFor(() => b.state().queued === 1, 5000, 'a queued request', 5);
    ac.abort();
    expect(await gone).toBe('aborted');
    await waitFor(() => b.state().abandoned === 1, 5000, 'the queued request to be abandoned', 5);
    expect(b.state()).toMatchObject({ queued: 0, inFlight: 1 });
    // The freed place takes a new request instead of a 503.
    const next = get(`${b.url}/?ms=10`);
    expect((await busy).status).toBe(200);
    expect((await next).status).toBe(200);
    expect(b.state()).toMatchObject({ served: 2, rejected: 0 });
  });
});

describe('SlotGate', () => {
  it('refuses past slots + queue and promotes the oldest waiter on release', async () => {
    const gate = new SlotGate(1, 1);
    const a = gate.tryAcquire();
    const b = gate.tryAcquire();
    expect(gate.tryAcquire()).toBeUndefined();
    expect([gate.inFlight, gate.queued]).toEqual([1, 1]);
    let bGranted = false;
    void b!.granted.then(() => (bGranted = true));
    a!.release();
    a!.release(); // idempotent
    await Promise.resolve();
    expect(bGranted).toBe(true);
    expect([gate.inFlight, gate.queued]).toEqual([1, 0]);
    b!.release();
    expect(gate.inFlight).toBe(0);
  });
});
