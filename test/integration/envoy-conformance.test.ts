// The simulator's Envoy model (src/sim/envoy-model.ts) against a real Envoy: the same assignments,
// built by Spillway's own resource builder, fed to both; what each does with traffic must agree
// within sampling error. If Envoy changes (or the model is wrong), this is where it shows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpillwayApp } from '../../src/app/spillway-app.js';
import { CordonState } from '../../src/model/cordons.js';
import { ModalHealth, type TrafficPlan } from '../../src/model/traffic-plan.js';
import { loadProtos } from '../../src/protos/load-protos.js';
import { modelOfAssignment, trafficShares } from '../../src/sim/envoy-model.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import { runningDropPercent, runningLocalities } from '../../tools/envoy/config-dump.js';
import { startEnvoy, type EnvoyHandle } from '../../tools/envoy/envoy-process.js';
import { waitFor } from '../../tools/wait-for.js';
import { sendRequests } from '../support/load.js';
import { startApp, startTopology, type Topology } from './harness.js';

const N = 1200;
/** Three standard deviations of a fraction measured over N requests is at most ≈ 0.043. */
const TOLERANCE = 0.045;

const plan = (modalWeight: number, dropPercent = 0, modalHealth: TrafficPlan['modalHealth'] = ModalHealth.Healthy): TrafficPlan => ({
  inHouseWeight: 1000 - modalWeight,
  modalWeight,
  modalHealth,
  dropPercent,
});

describe('the simulator’s Envoy model agrees with a real Envoy', () => {
  let topo: Topology;
  let app: SpillwayApp;
  let envoy: EnvoyHandle;
  const table: string[] = [];

  beforeAll(async () => {
    topo = await startTopology({ share: 0.3 });
    app = await startApp(topo.config);
    envoy = await startEnvoy({ xdsPort: app.xdsPort, nodeId: 'envoy-conformance', apiType: 'GRPC' });
    await waitFor(async () => (await sendRequests(`http://127.0.0.1:${topo.listenerPort}/`, 10, 2)).ok === 10, 20_000, 'Envoy serving');
  });
  afterAll(async () => {
    console.log(`conformance, ${N} requests per cell (measured vs model):\n${table.join('\n')}`);
    await envoy?.stop();
    await app?.stop();
    await topo?.close();
  });

  /** Which backend a model host id (address:port) is, as the backends name themselves. */
  const nameOf = (id: string): string => {
    const port = Number(id.slice(id.lastIndexOf(':') + 1));
    return topo.inHouse.find((b) => b.port === port)?.name ?? (port === topo.modal.port ? 'modal' : id);
  };

  /** What the model says the published assignment does, per backend name and 'dropped'. */
  function predicted(): Record<string, number> {
    const enc = app.cache.current()!.types[TypeUrl.Endpoint].resources.get('echo')!.value;
    const cla = loadProtos().protos.envoy.config.endpoint.v3.ClusterLoadAssignment.deserialize(enc);
    const s = trafficShares(modelOfAssignment(cla));
    const out: Record<string, number> = { dropped: s.dropped };
    for (const [id, f] of Object.entries(s.byHost)) out[nameOf(id)] = f;
    return out;
  }

  /** Waits until Envoy's workers run the published drop and weights, then measures N requests. */
  async function measure(
    label: string,
    expectDrop: number,
    expectModalWeight: number,
    startedAt = Date.now(),
  ): Promise<Record<string, number>> {
    await waitFor(
      async () => {
        const dump = await envoy.configDump('?include_eds');
        return (
          runningDropPercent(dump, 'echo') === expectDrop &&
          (runningLocalities(dump, 'echo').get('modal')?.weight ?? 0) === expectModalWeight
        );
      },
      10_000,
      `Envoy to run drop ${expectDrop} % and Modal weight ${expectModalWeight}`,
    );
    const appliedInMs = Date.now() - startedAt;
    const r = await sendRequests(`http://127.0.0.1:${topo.listenerPort}/`, N, 16);
    const measured: Record<string, number> = { dropped: (r.byServer['dropped'] ?? 0) / N };
    for (const [k, v] of Object.entries(r.byServer)) if (k !== 'dropped') measured[k] = v / N;
    const model = predicted();
    const keys = [...new Set([...Object.keys(model), ...Object.keys(measured)])].sort();
    table.push(
      `  ${label.padEnd(46)} ${keys.map((k) => `${k} ${(measured[k] ?? 0).toFixed(3)}/${(model[k] ?? 0).toFixed(3)}`).join('  ')}  (applied ≤ ${appliedInMs} ms)`,
    );
    for (const k of keys) expect(Math.abs((measured[k] ?? 0) - (model[k] ?? 0)), `${label}: ${k}`).toBeLessThanOrEqual(TOLERANCE);
    return measured;
  }

  const publish = (p: TrafficPlan): number => {
    expect(app.publisher.setPlan('echo', p).ok).toBe(true);
    return Date.now();
  };

  it('splits by locality weight', async () => {
    await measure('weights 700/300', 0, 300, publish(plan(300)));
    await measure('weights 400/600', 0, 600, publish(plan(600)));
  });

  it('drops first, then splits what is left by locality weight', async () => {
    const m = await measure('drop 40 %, weights 700/300', 40, 300, publish(plan(300, 40)));
    // The point of the cell: Modal gets 0.6 × 30 %, not 30 % of offered.
    expect(m['modal']).toBeLessThan(0.25);
  });

  it('a change of the drop alone takes effect within a second, in both directions', async () => {
    await measure('drop 40 % (weights fixed at 700/300)', 40, 300, publish(plan(300, 40)));
    for (const drop of [10, 0, 25, 0]) {
      const at = publish(plan(300, drop));
      await new Promise((r) => setTimeout(r, 1000 - Math.min(1000, Date.now() - at)));
      const m = await measure(`drop alone → ${drop} %, measured 1 s after publish`, drop, 300, at);
      expect(Math.abs(m['dropped']! - drop / 100)).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it('a soft-cordoned (DEGRADED) Modal takes nothing while in-house hosts are healthy', async () => {
    const m = await measure('Modal DEGRADED, weights 500/500', 0, 500, publish(plan(500, 0, ModalHealth.Degraded)));
    expect(m['modal'] ?? 0).toBe(0);
  });

  it('a DRAINING in-house host is excluded; a DEGRADED one takes only what healthy availability cannot', async () => {
    publish(plan(300));
    const b = `127.0.0.1:${topo.inHouse[1]!.port}`;
    try {
      expect(app.publisher.setCordon('echo', b, CordonState.Draining).ok).toBe(true);
      await waitFor(async () => (await envoy.localities('echo')).get('in-house')?.health !== undefined, 5_000, 'EDS');
      await new Promise((r) => setTimeout(r, 500));
      const drained = await measure('in-house b DRAINING, weights 700/300', 0, 300);
      expect(drained['inhouse-b'] ?? 0).toBe(0);
      expect(app.publisher.setCordon('echo', b, CordonState.Degraded).ok).toBe(true);
      await new Promise((r) => setTimeout(r, 1000));
      // Two of three counted hosts healthy: 1.4 × 2/3 = 93.3 % healthy availability; b takes ≈ 6.7 %,
      // and in-house's effective weight falls to 700 × 0.7.
      await measure('in-house b DEGRADED, weights 700/300', 0, 300);
    } finally {
      app.publisher.setCordon('echo', b, undefined);
    }
  });

  it('with max_rps on every host, Envoy splits the in-house locality by rate, as the capacity model counts it', async () => {
    const before = app.publisher.currentServices();
    const fast = topo.inHouse[0]!;
    try {
      const withRates = before.map((s) =>
        s.name !== 'echo' ? s : { ...s, inHouse: s.inHouse.map((e) => ({ ...e, maxRps: e.port === fast.port ? 30 : 10 })) },
      );
      expect(app.publisher.setServices(withRates).ok).toBe(true);
      publish(plan(0));
      await waitFor(
        async () => JSON.stringify(await envoy.configDump('?include_eds')).includes('"load_balancing_weight":3000'),
        5_000,
        'rate weights in Envoy',
      );
      const m = await measure('in-house max_rps 30/10, all in-house', 0, 0);
      // 30 : 10 ⇒ 75 % to the fast host; slots alone (equal here) would give it half.
      expect(m[fast.name]!).toBeGreaterThan(0.65);
    } finally {
      app.publisher.setServices(before);
    }
  });

  it('circuit breakers never shed: Spillway sets them out of the way and sheds on purpose', async () => {
    publish(plan(300));
    await new Promise((r) => setTimeout(r, 500));
    const r = await sendRequests(`http://127.0.0.1:${topo.listenerPort}/?ms=200`, 600, 300);
    table.push(`  300 concurrent requests, 200 ms each: ${r.ok}/600 answered, ${r.failed} failed`);
    expect(r.failed, r.errors.join(', ')).toBe(0);
  });
});
