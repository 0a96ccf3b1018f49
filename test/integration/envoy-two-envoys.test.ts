import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpillwayApp } from '../../src/app/spillway-app.js';
import { configFrom } from '../../tools/config-fixtures.js';
import { ADS_ORDER, TypeUrl, shortType } from '../../src/xds/type-urls.js';
import { startEnvoy, type EnvoyHandle } from '../../tools/envoy/envoy-process.js';
import { freePort } from '../../tools/ports.js';
import { sendRequests } from '../support/load.js';
import { waitFor } from '../../tools/wait-for.js';
import { startApp, startTopology, type Topology } from './harness.js';

const A = 'envoy-two-a';
const B = 'envoy-two-b';

/**
 * A static listener on `port` in one Envoy's bootstrap. When Spillway later moves its listener to
 * the same address, that Envoy (only) rejects the LDS update: two listeners of one Envoy cannot
 * share an address. The other Envoy binds it alongside (SO_REUSEPORT, Envoy's default).
 */
function staticListenerOn(port: number): (bootstrap: Record<string, any>) => void {
  return (bootstrap) => {
    bootstrap['static_resources'].listeners = [
      {
        name: 'blocker',
        address: { socket_address: { address: '127.0.0.1', port_value: port } },
        filter_chains: [
          {
            filters: [
              {
                name: 'envoy.filters.network.http_connection_manager',
                typed_config: {
                  '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                  stat_prefix: 'blocker',
                  route_config: {
                    virtual_hosts: [
                      {
                        name: 'all',
                        domains: ['*'],
                        routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'blocker' } } }],
                      },
                    ],
                  },
                  http_filters: [
                    {
                      name: 'envoy.filters.http.router',
                      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
                    },
                  ],
                },
              },
            ],
          },
        ],
      },
    ];
  };
}

describe('two real Envoys (GRPC and DELTA_GRPC) against one Spillway', () => {
  let topo: Topology;
  let app: SpillwayApp;
  let a: EnvoyHandle;
  let b: EnvoyHandle;
  let blockedPort: number;

  const statuses = (node: string): string[] => app.syncStatus.node(node).map((r) => `${r.type}:${r.status}`);
  const allSynced = ADS_ORDER.map((t) => `${shortType(t)}:SYNCED`);

  beforeAll(async () => {
    topo = await startTopology({ share: 0.3 });
    const raw = structuredClone(topo.rawConfig);
    raw['lrs'] = { interval_ms: 500 };
    const config = configFrom(raw);
    app = await startApp(config);
    blockedPort = await freePort();
    [a, b] = await Promise.all([
      startEnvoy({ xdsPort: app.xdsPort, nodeId: A, apiType: 'GRPC' }),
      startEnvoy({ xdsPort: app.xdsPort, nodeId: B, apiType: 'DELTA_GRPC', patch: staticListenerOn(blockedPort) }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await app?.stop();
    await topo?.close();
  });

  it('both converge: every type SYNCED for both nodes, and both proxy', async () => {
    await waitFor(() => statuses(A).join() === allSynced.join() && statuses(B).join() === allSynced.join(), 20_000, 'both Envoys SYNCED');
    expect(app.syncStatus.snapshot().rows.map((r) => r.nodeId)).toEqual([...ADS_ORDER.map(() => A), ...ADS_ORDER.map(() => B)]);
    // Both run the listener (SO_REUSEPORT) and serve through it.
    await waitFor(async () => (await sendRequests(`http://127.0.0.1:${topo.listenerPort}/`, 20, 4)).ok === 20, 15_000, 'traffic');
    await waitFor(
      async () => {
        const [sa, sb] = await Promise.all([a.stats('http.echo.downstream_rq_completed'), b.stats('http.echo.downstream_rq_completed')]);
        if ((sa['http.echo.downstream_rq_completed'] ?? 0) > 0 && (sb['http.echo.downstream_rq_completed'] ?? 0) > 0) return true;
        await sendRequests(`http://127.0.0.1:${topo.listenerPort}/`, 40, 20);
        return false;
      },
      15_000,
      'requests through both Envoys',
    );
  });

  it('both report load: two reporters, and in-progress is the sum of both Envoys', async () => {
    await waitFor(() => app.lrs.connectedNodes().join() === [A, B].join(), 10_000, 'both LRS streams');
    const held = 24;
    // One connection per request: the kernel spreads them over both Envoys' listen sockets.
    const wave = sendRequests(`http://127.0.0.1:${topo.listenerPort}/?ms=3000`, held, held);
    const inFlight = (): number => topo.inHouse.reduce((n, x) => n + x.inFlight(), 0) + topo.modal.inFlight();
    await waitFor(() => inFlight() === held, 2000, 'all requests held at the backends');
    const heldAt = Date.now();
    const active = async (e: EnvoyHandle): Promise<number> =>
      (await e.stats('cluster.echo.upstream_rq_active'))['cluster.echo.upstream_rq_active'] ?? 0;
    const [activeA, activeB] = await Promise.all([active(a), active(b)]);
    expect(activeA + activeB).toBe(held);
    expect(activeA).toBeGreaterThan(0);
    expect(activeB).toBeGreaterThan(0);
    const seen = await waitFor(
      () => {
        const s = app.lrs.view.service('echo');
        // A report from each Envoy taken while everything was held.
        return s && s.reporters === 2 && s.oldestObservedAtMs > heldAt + 100 ? s : undefined;
      },
      2500,
      'reports from both Envoys during the hold',
    );
    expect(seen.localities['in-house'].inProgress + seen.localities.modal.inProgress).toBe(held);
    expect(seen.localities['in-house'].reporters).toBe(2);
    const r = await wave;
    expect(r.failed, r.errors.join(', ')).toBe(0);
  });

  it('one Envoy NACKing shows ERROR for that Envoy only; the other stays SYNCED and serving', async () => {
    const nodeSeesNack = (node: string): boolean => app.syncStatus.node(node).some((r) => r.status === 'ERROR');
    const moved = structuredClone(topo.rawConfig);
    moved['services'][0].listener = `127.0.0.1:${blockedPort}`;
    const config = configFrom(moved);
    expect(app.publisher.setServices(config.services).ok).toBe(true);

    await waitFor(() => app.syncStatus.node(B).find((r) => r.typeUrl === TypeUrl.Listener)?.status === 'ERROR', 15_000, 'B to NACK LDS');
    const ldsB = app.syncStatus.node(B).find((r) => r.typeUrl === TypeUrl.Listener)!;
    expect(ldsB.lastNack?.detail).toMatch(/duplicate address/);
    await waitFor(() => statuses(A).join() === allSynced.join(), 15_000, 'A SYNCED on the new version');
    expect(nodeSeesNack(A)).toBe(false);
    expect(statuses(B).filter((s) => !s.startsWith('LDS'))).toEqual(allSynced.filter((s) => !s.startsWith('LDS')));

    // A serves on the new address (B's static listener shares it and answers "blocker").
    const before = (await a.stats('http.echo.downstream_rq_completed'))['http.echo.downstream_rq_completed'] ?? 0;
    const res = await sendRequests(`http://127.0.0.1:${blockedPort}/`, 60, 20);
    expect(res.failed, res.errors.join(', ')).toBe(0);
    const viaSpillwayRoute = Object.entries(res.byServer)
      .filter(([k]) => k !== 'status-200')
      .reduce((n, [, v]) => n + v, 0);
    expect(viaSpillwayRoute).toBeGreaterThan(0);
    const after = (await a.stats('http.echo.downstream_rq_completed'))['http.echo.downstream_rq_completed'] ?? 0;
    expect(after - before).toBe(viaSpillwayRoute);
    // B keeps its last good config: still serving on the old address, which only B listens on now.
    const old = await sendRequests(`http://127.0.0.1:${topo.listenerPort}/`, 20, 4);
    expect(old.failed, old.errors.join(', ')).toBe(0);
    expect(Object.keys(old.byServer).every((k) => k.startsWith('inhouse') || k === 'modal')).toBe(true);
  });
});
