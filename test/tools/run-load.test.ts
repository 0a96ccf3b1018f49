import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/sim/prng.js';
import { startInHouseBackend, type InHouseBackend } from '../../tools/backends/in-house-backend.js';
import { poissonArrivals } from '../../tools/loadgen/arrivals.js';
import type { SecondRecord } from '../../tools/loadgen/load-recorder.js';
import { runLoad } from '../../tools/loadgen/run-load.js';
import { buildScenario } from '../../tools/loadgen/scenarios.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function inHouse(opts: Parameters<typeof startInHouseBackend>[0]): Promise<InHouseBackend> {
  const b = await startInHouseBackend(opts);
  cleanups.push(() => b.close());
  return b;
}

/** Stands in for whatever answers behind Envoy; `headers` picks each response's headers. */
async function standIn(status: number, headers: (n: number) => Record<string, string>): Promise<string> {
  let n = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    res.writeHead(status, headers(n++));
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const steady = (durationS: number, rps: number) => buildScenario('steady', { durationS, baseRps: rps });

describe('runLoad against in-process backends', () => {
  it('sends the seeded Poisson count and writes well-formed per-second records', async () => {
    const b = await inHouse({ slots: 64 });
    const scenario = steady(2, 60);
    const seconds: SecondRecord[] = [];
    const arrivedAt: number[] = [];
    const s = await runLoad(
      { url: b.url, path: '/work?ms=20', scenario, seed: 11 },
      { onSecond: (r) => seconds.push(r), onResponse: (at, tier) => tier === 'in_house' && arrivedAt.push(at) },
    );

    const expected = [...poissonArrivals(scenario, mulberry32(11))].length;
    expect(s.arrivals).toBe(expected);
    expect(Math.abs(expected - 120)).toBeLessThan(4 * Math.sqrt(120));
    expect(s).toMatchObject({ sent: expected, dropped_by_client: 0, completed: expected, errors: 0, cancelled: 0, stopped_early: false });
    expect(b.state().served).toBe(expected);

    expect(seconds.map((r) => r.t)).toEqual(seconds.map((_, i) => i));
    expect(seconds.length).toBeGreaterThanOrEqual(2);
    expect(seconds.slice(0, 2).map((r) => r.target_rps)).toEqual([60, 60]);
    const sum = (f: (r: SecondRecord) => number): number => seconds.reduce((a, r) => a + f(r), 0);
    expect(sum((r) => r.arrivals)).toBe(s.arrivals);
    expect(sum((r) => r.completed)).toBe(s.completed);
    // Each response is reported with its request's arrival time on the scenario's clock, the same second the records count it in.
    expect(arrivedAt).toHaveLength(s.completed);
    expect(Math.min(...arrivedAt)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...arrivedAt)).toBeLessThan(2);
    for (let i = 0; i < 2; i++) expect(arrivedAt.filter((t) => Math.floor(t) === i)).toHaveLength(seconds[i]!.sent);
    for (const r of seconds) {
      expect(r.arrivals).toBe(r.sent + r.dropped_by_client);
      expect(Object.values(r.tiers).reduce((a, x) => a + x, 0)).toBe(r.completed);
      expect(Object.values(r.status).reduce((a, x) => a + x, 0)).toBe(r.completed);
      expect(r.latency_ms?.count ?? 0).toBe(r.completed);
      expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    }
  });

  it('attributes in-house hosts, Modal containers and Envoy sheds', async () => {
    const host = await inHouse({ name: 'in-house-7', slots: 64 });
    const modal = await standIn(200, (n) => ({ 'x-modal-container': `ta-${n % 2}` }));
    const envoy = await standIn(503, () => ({ 'x-envoy-overloaded': 'true' }));
    const run = (url: string) => runLoad({ url, scenario: steady(1, 30), seed: 3 });
    const [a, m, e] = await Promise.all([run(host.url), run(modal), run(envoy)]);

    expect(a.tiers).toEqual({ in_house: a.completed, modal: 0, shed: 0, other: 0 });
    expect(a.served_by).toEqual({ 'in-house-7': a.completed });
    expect(m.tiers.modal).toBe(m.completed);
    expect(m.modal_containers).toBe(2);
    expect(Object.keys(m.served_by).sort()).toEqual(['ta-0', 'ta-1']);
    expect(e.tiers.shed).toBe(e.completed);
    expect(e.status).toEqual({ '503': e.completed });
    expect(a.completed).toBeGreaterThan(10);
  });

  it('drops arrivals beyond the concurrency cap instead of queueing them', async () => {
    const b = await inHouse({ slots: 64 });
    const s = await runLoad({ url: b.url, path: '/?ms=400', scenario: steady(1, 40), seed: 5, concurrency: 3 });
    expect(s.max_in_flight).toBeLessThanOrEqual(3);
    expect(b.state().maxInFlight).toBeLessThanOrEqual(3);
    expect(s.dropped_by_client).toBeGreaterThan(s.arrivals / 2);
    expect(s.sent + s.dropped_by_client).toBe(s.arrivals);
    expect(s.completed).toBe(s.sent);
    // Nothing waited client-side: a client queue at 40 rps into 7.5 rps of capacity would reach seconds.
    expect(s.latency_ms!.max).toBeLessThan(1500);
  });

  it('reports consistent latency percentiles that include the service time', async () => {
    const b = await inHouse({ slots: 64, serviceMs: 30, cv: 0.8 });
    const seconds: SecondRecord[] = [];
    const s = await runLoad({ url: b.url, scenario: steady(1.5, 60), seed: 9 }, { onSecond: (r) => seconds.push(r) });
    for (const l of [s.latency_ms, s.latency_ms_by_tier.in_house, ...seconds.map((r) => r.latency_ms)]) {
      if (!l) continue;
      expect(l.p50).toBeLessThanOrEqual(l.p90);
      expect(l.p90).toBeLessThanOrEqual(l.p99);
      expect(l.p99).toBeLessThanOrEqual(l.max);
    }
    expect(s.latency_ms!.p50).toBeGreaterThan(10);
    expect(s.latency_ms!.max).toBeGreaterThan(s.latency_ms!.p50);
  });

  it('counts requests without a response as errors, by kind', async () => {
    const b = await inHouse({});
    const deadUrl = b.url;
    await b.close();
    const s = await runLoad({ url: deadUrl, scenario: steady(1, 20), seed: 1 });
    expect(s.completed).toBe(0);
    expect(s.errors).toBe(s.sent);
    expect(s.error_kinds).toEqual({ ECONNREFUSED: s.sent });
  });

  it('times out slow requests', async () => {
    const b = await inHouse({ slots: 64 });
    const s = await runLoad({ url: b.url, path: '/?ms=2000', scenario: steady(0.5, 20), seed: 2, timeoutMs: 200 });
    expect(s.errors).toBe(s.sent);
    expect(s.error_kinds).toEqual({ TIMEOUT: s.sent });
    expect(s.elapsed_s).toBeLessThan(2); // the 2 s service time was not waited for
  });

  it('stops early on abort, abandoning what is in flight', async () => {
    const b = await inHouse({ slots: 64 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const s = await runLoad({ url: b.url, path: '/?ms=5000', scenario: steady(60, 20), seed: 4, signal: ac.signal });
    expect(s.stopped_early).toBe(true);
    expect(s.elapsed_s).toBeLessThan(2);
    expect(s.cancelled).toBe(s.sent);
    expect(s.arrivals).toBeLessThan(30);
  });

  it('refuses targets that are not test targets and runs too big to be a test', async () => {
    const scenario = steady(1, 1);
    await expect(runLoad({ url: 'http://example.com/', scenario })).rejects.toThrow(/refusing/);
    await expect(runLoad({ url: 'http://127.0.0.1:1/', scenario: steady(10, 1000), maxRequests: 5000 })).rejects.toThrow(/maxRequests/);
    await expect(runLoad({ url: 'http://127.0.0.1:1/', scenario: steady(7200, 1) })).rejects.toThrow(/duration/);
  });
});
