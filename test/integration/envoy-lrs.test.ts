import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpillwayApp } from '../../src/app/spillway-app.js';
import { configFrom } from '../../tools/config-fixtures.js';
import type { LoadSnapshot } from '../../src/lrs/load-view.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import { startEnvoy, type EnvoyHandle } from '../../tools/envoy/envoy-process.js';
import { sendRequests } from '../support/load.js';
import { waitFor } from '../../tools/wait-for.js';
import { startApp, startTopology, type Topology } from './harness.js';

const NODE = 'envoy-lrs-1';
const INTERVAL_MS = 500;
const MODAL_SHARE = 0.3;

/** One LRS report as Spillway aggregated it, with what the backends had seen when it arrived. */
interface Sample {
  atMs: number;
  issuedRps: { inHouse: number; modal: number };
  inProgress: { inHouse: number; modal: number };
  backendCount: { inHouse: number; modal: number };
  backendInFlight: { inHouse: number; modal: number };
}

/** Sends GETs at a fixed rate (open loop: a slow answer never delays the next request) for durationMs. */
async function sendAtFixedRate(url: string, rps: number, durationMs: number): Promise<{ sent: number; failed: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const start = Date.now();
  let sent = 0;
  let failed = 0;
  const pending: Array<Promise<void>> = [];
  while (Date.now() - start < durationMs) {
    const due = Math.floor(((Date.now() - start) * rps) / 1000) + 1;
    for (; sent < due; sent++) {
      pending.push(
        new Promise<void>((resolve) => {
          const req = request(url, { agent }, (res) => {
            if (res.statusCode !== 200) failed++;
            res.resume();
            res.on('end', resolve);
          });
          req.on('error', () => {
            failed++;
            resolve();
          });
          req.end();
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(pending);
  agent.destroy();
  return { sent, failed };
}

const within = (actual: number, expected: number, tolerance: number): boolean => Math.abs(actual - expected) <= tolerance * expected;

describe('LRS from a real Envoy (api_type GRPC) agrees with what the backends saw', () => {
  let topo: Topology;
  let app: SpillwayApp;
  let envoy: EnvoyHandle;
  const samples: Sample[] = [];

  beforeAll(async () => {
    topo = await startTopology({ share: MODAL_SHARE });
    const raw = structuredClone(topo.rawConfig);
    raw['lrs'] = { interval_ms: INTERVAL_MS };
    const config = configFrom(raw);
    app = await startApp(config);
    const inHouseCount = (): number => topo.inHouse.reduce((n, b) => n + b.requests.length, 0);
    let lastObserved = -1;
    app.lrs.view.subscribe((snap: LoadSnapshot) => {
      const s = snap.services.find((x) => x.service === 'echo');
      // One sample per accepted report (connects and expiries notify too).
      if (!s || s.observedAtMs === lastObserved) return;
      lastObserved = s.observedAtMs;
      samples.push({
        atMs: s.observedAtMs,
        issuedRps: { inHouse: s.localities['in-house'].issuedRps, modal: s.localities.modal.issuedRps },
        inProgress: { inHouse: s.localities['in-house'].inProgress, modal: s.localities.modal.inProgress },
        backendCount: { inHouse: inHouseCount(), modal: topo.modal.requests.length },
        backendInFlight: { inHouse: topo.inHouse.reduce((n, b) => n + b.inFlight(), 0), modal: topo.modal.inFlight() },
      });
    });
    envoy = await startEnvoy({ xdsPort: app.xdsPort, nodeId: NODE, apiType: 'GRPC' });
    await waitFor(
      () => app.syncStatus.node(NODE).find((r) => r.typeUrl === TypeUrl.Route)?.status === 'SYNCED',
      20_000,
      'Envoy to ACK the routes',
    );
    await waitFor(
      async () => (await sendRequests(`http://127.0.0.1:${topo.listenerPort}/`, 10, 2)).ok === 10,
      15_000,
      'traffic through Envoy',
    );
    await waitFor(() => app.lrs.connectedNodes().includes(NODE), 10_000, 'Envoy LRS stream');
  });
  afterAll(async () => {
    await envoy?.stop();
    await app?.stop();
    await topo?.close();
  });

  it('issued requests per second, per locality, over steady report windows', async () => {
    const rps = 120;
    const t0 = Date.now();
    const result = await sendAtFixedRate(`http://127.0.0.1:${topo.listenerPort}/`, rps, 6500);
    const t1 = Date.now();
    expect(result.failed).toBe(0);
    // Let the report covering the end arrive, then use only windows that lie inside the run, past its start.
    await new Promise((r) => setTimeout(r, 2 * INTERVAL_MS));
    const inRun = samples.filter((s) => s.atMs >= t0 + 750 && s.atMs <= t1);
    expect(inRun.length).toBeGreaterThanOrEqual(8);
    const [first, ...rest] = inRun;
    const last = rest.at(-1)!;
    const spanS = (last.atMs - first!.atMs) / 1000;
    // Spillway's figure: the report rates weighted by the time each covers (the gap since the previous report).
    let prev = first!;
    const lrsCount = { inHouse: 0, modal: 0 };
    for (const s of rest) {
      const dt = (s.atMs - prev.atMs) / 1000;
      lrsCount.inHouse += s.issuedRps.inHouse * dt;
      lrsCount.modal += s.issuedRps.modal * dt;
      prev = s;
    }
    const lrsRps = { inHouse: lrsCount.inHouse / spanS, modal: lrsCount.modal / spanS };
    const backendRps = {
      inHouse: (last.backendCount.inHouse - first!.backendCount.inHouse) / spanS,
      modal: (last.backendCount.modal - first!.backendCount.modal) / spanS,
    };
    console.log(
      `LRS issued rps vs backends over ${rest.length} windows (${spanS.toFixed(2)} s): in-house ${lrsRps.inHouse.toFixed(2)} vs ${backendRps.inHouse.toFixed(2)}, ` +
        `modal ${lrsRps.modal.toFixed(2)} vs ${backendRps.modal.toFixed(2)} (sent ${rps} rps)`,
    );
    expect(within(lrsRps.inHouse, backendRps.inHouse, 0.05), `in-house ${lrsRps.inHouse} vs ${backendRps.inHouse}`).toBe(true);
    expect(within(lrsRps.modal, backendRps.modal, 0.05), `modal ${lrsRps.modal} vs ${backendRps.modal}`).toBe(true);
    // And both are the load that was sent, split by the published share.
    expect(within(lrsRps.inHouse + lrsRps.modal, rps, 0.05)).toBe(true);
    expect(Math.abs(lrsRps.modal / (lrsRps.inHouse + lrsRps.modal) - MODAL_SHARE)).toBeLessThan(0.08);
  });

  it('requests in progress, per locality, while a slow backend holds a known number of requests', async () => {
    const concurrency = 20;
    const holdMs = 3000;
    const wave = sendRequests(`http://127.0.0.1:${topo.listenerPort}/?ms=${holdMs}`, concurrency, concurrency);
    const inFlight = (): number => topo.inHouse.reduce((n, b) => n + b.inFlight(), 0) + topo.modal.inFlight();
    await waitFor(() => inFlight() === concurrency, 2000, `${concurrency} requests held at the backends`);
    const heldFrom = Date.now();
    const from = samples.length;
    await waitFor(() => inFlight() < concurrency, holdMs + 2000, 'the slow requests to finish');
    const heldUntil = Date.now();
    const r = await wave;
    expect(r.failed, r.errors.join(', ')).toBe(0);
    // Reports taken entirely while all requests were held (Envoy samples the gauge when it reports).
    const during = samples.slice(from).filter((s) => s.atMs >= heldFrom + 50 && s.atMs <= heldUntil - 50);
    expect(during.length).toBeGreaterThanOrEqual(3);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const lrs = { inHouse: mean(during.map((s) => s.inProgress.inHouse)), modal: mean(during.map((s) => s.inProgress.modal)) };
    const backends = {
      inHouse: mean(during.map((s) => s.backendInFlight.inHouse)),
      modal: mean(during.map((s) => s.backendInFlight.modal)),
    };
    console.log(
      `LRS in progress vs backends over ${during.length} reports: in-house ${lrs.inHouse.toFixed(2)} vs ${backends.inHouse.toFixed(2)}, ` +
        `modal ${lrs.modal.toFixed(2)} vs ${backends.modal.toFixed(2)} (${concurrency} held)`,
    );
    expect(backends.inHouse + backends.modal).toBe(concurrency);
    expect(backends.modal, 'the static share must put slow requests on Modal too').toBeGreaterThan(0);
    expect(within(lrs.inHouse, backends.inHouse, 0.05), `in-house ${lrs.inHouse} vs ${backends.inHouse}`).toBe(true);
    expect(within(lrs.modal, backends.modal, 0.05), `modal ${lrs.modal} vs ${backends.modal}`).toBe(true);
  });

  it('a follow-up brings the next report early, then the usual interval again', async () => {
    // Light traffic so that every report carries the service.
    const load = sendAtFixedRate(`http://127.0.0.1:${topo.listenerPort}/`, 20, 4000);
    const arrivals: number[] = [];
    let askedAtMs = 0;
    let asked = -1;
    let lastObserved = -1;
    const off = app.lrs.view.subscribe((snap: LoadSnapshot) => {
      const s = snap.services.find((x) => x.service === 'echo');
      if (!s || s.observedAtMs === lastObserved) return;
      lastObserved = s.observedAtMs;
      arrivals.push(Date.now());
      // Just after the second report: without the follow-up the next one is a whole interval away.
      if (arrivals.length === 2) {
        askedAtMs = Date.now();
        asked = app.lrs.followUp(150);
      }
    });
    try {
      await waitFor(() => arrivals.length >= 4, 5_000, 'four reports');
    } finally {
      off();
    }
    await load;
    expect(asked).toBe(1);
    const early = arrivals[2]! - askedAtMs;
    const after = arrivals[3]! - arrivals[2]!;
    console.log(`follow-up: next report ${early} ms after asking (interval ${INTERVAL_MS} ms), the one after ${after} ms later`);
    expect(early).toBeLessThan(350);
    // Back on the usual interval (a stuck short interval would give ≈ 150 ms).
    expect(after).toBeGreaterThan(350);
  });
});
