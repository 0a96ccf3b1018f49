import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSpillway, type SpillwayApp } from '../../src/app/spillway-app.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import { startEnvoy, type EnvoyHandle } from '../../tools/envoy/envoy-process.js';
import { startFakeModal, type FakeModal } from '../../tools/fake-modal/start-fake-modal.js';
import { HTTP_VERSION_HEADER } from '../../tools/fake-modal/web-server.js';
import { waitFor } from '../../tools/wait-for.js';
import { startHttpBackend, type BackendHandle } from '../../tools/backends/http-backend.js';
import { configFrom, FREE_PORTS } from '../../tools/config-fixtures.js';
import { startDnsServer, type TestDnsServer } from '../support/dns-server.js';
import { sendRequests } from '../support/load.js';
import { freePort } from '../../tools/ports.js';

const MODAL_HOST = 'spillway-dns--echo.modal.run';
const TTL_S = 1;
/** TTL + one push, with room for a loaded 2-core machine. */
const WITHIN_MS = TTL_S * 1000 + 4000;
const GRACE_MS = 4000;

// Real DNS (a dns2 server on loopback answering Node's resolver), a real Envoy, real backends on
// several loopback addresses: 127.0.0.1–3 and ::1, all on one port as a headless service would be.
describe('endpoints from DNS (A/AAAA, SRV) and every address of the Modal host, through a real Envoy', () => {
  let dns: TestDnsServer;
  let app: SpillwayApp;
  let envoy: EnvoyHandle;
  let fake: FakeModal;
  let port: number;
  const backends: Record<string, BackendHandle> = {};
  const listeners: Record<string, number> = {};

  beforeAll(async () => {
    dns = await startDnsServer();
    backends['a'] = await startHttpBackend('a');
    port = backends['a'].port;
    backends['b'] = await startHttpBackend('b', { host: '127.0.0.2', port });
    backends['c'] = await startHttpBackend('c', { host: '127.0.0.3', port });
    backends['v6'] = await startHttpBackend('v6', { host: '::1', port });
    backends['srv1'] = await startHttpBackend('srv1');
    backends['srv2'] = await startHttpBackend('srv2');
    backends['static'] = await startHttpBackend('static');
    fake = await startFakeModal({
      host: '::',
      tlsNames: [MODAL_HOST],
      functions: [{ appName: 'spillway-dns', functionName: 'echo', coldStartMs: 0 }],
    });
    dns.setA('fleet.test', ['127.0.0.1', '127.0.0.2'], TTL_S);
    dns.setA('a.srv.test', ['127.0.0.1'], TTL_S);
    dns.setSrv('_http._tcp.srv.test', [
      { target: 'a.srv.test', port: backends['srv1'].port, weight: 3 },
      { target: 'a.srv.test', port: backends['srv2'].port, weight: 1 },
    ]);
    dns.setA(MODAL_HOST, ['127.0.0.1'], TTL_S);
    dns.setAAAA(MODAL_HOST, ['::1'], TTL_S);
    for (const name of ['echo', 'srv', 'spill']) listeners[name] = await freePort();
    const config = configFrom({
      ...FREE_PORTS,
      lrs: { interval_ms: 500 },
      discovery: { dns_servers: [dns.address], min_ttl_ms: 200, max_ttl_ms: 2000, dns_timeout_ms: 300, grace_ms: GRACE_MS },
      services: [
        { name: 'echo', listener: `127.0.0.1:${listeners['echo']}`, in_house: { capacity: 4, dns: [{ name: 'fleet.test', port }] } },
        { name: 'srv', listener: `127.0.0.1:${listeners['srv']}`, in_house: { srv: [{ name: '_http._tcp.srv.test' }] } },
        {
          name: 'spill',
          listener: `127.0.0.1:${listeners['spill']}`,
          in_house: { endpoints: [{ address: '127.0.0.1', port: backends['static'].port, capacity: 4 }] },
          modal: {
            url: `https://${MODAL_HOST}:${new URL(fake.httpsUrl).port}`,
            app: 'spillway-dns',
            function: 'echo',
            ca_bundle: fake.caPath,
            max_containers: 4,
            share: 0.5,
          },
          capacity: { policy: 'static' },
        },
      ],
    });
    app = await startSpillway(config);
    envoy = await startEnvoy({ xdsPort: app.xdsPort, nodeId: `envoy-dns-${listeners['echo']}` });
    await waitFor(async () => (await sendRequests(url('echo'), 4, 2)).ok === 4, 20_000, 'traffic through Envoy');
  }, 60_000);
  afterAll(async () => {
    await envoy?.stop();
    await app?.stop();
    await Promise.all(Object.values(backends).map((b) => b.close()));
    await fake?.close();
    await dns?.close();
  });

  const url = (service: string): string => `http://127.0.0.1:${listeners[service]}/`;
  const inHouse = async (service: string): Promise<string[]> =>
    (await envoy.endpoints(service))
      .filter((e) => e.zone === 'in-house')
      .map((e) => e.endpoint)
      .sort();
  const servedBy = async (service: string, n = 40): Promise<Record<string, number>> => {
    const r = await sendRequests(url(service), n, 4);
    expect(r.failed).toBe(0);
    return r.byServer;
  };

  it('serves every address of the name, and follows records as they are added and removed within TTL + one push', async () => {
    expect(await inHouse('echo')).toEqual([`127.0.0.1:${port}`, `127.0.0.2:${port}`]);
    expect(Object.keys(await servedBy('echo')).sort()).toEqual(['a', 'b']);

    const versions = (): Record<string, string | undefined> =>
      Object.fromEntries([TypeUrl.Cluster, TypeUrl.Listener, TypeUrl.Endpoint].map((t) => [t, app.cache.current()?.types[t].version]));
    const before = versions();
    dns.setA('fleet.test', ['127.0.0.1', '127.0.0.2', '127.0.0.3'], TTL_S);
    dns.setAAAA('fleet.test', ['::1'], TTL_S);
    const t0 = Date.now();
    await waitFor(async () => (await inHouse('echo')).length === 4, WITHIN_MS, 'new records in Envoy');
    expect(Date.now() - t0).toBeLessThan(WITHIN_MS);
    expect(await inHouse('echo')).toEqual([`127.0.0.1:${port}`, `127.0.0.2:${port}`, `127.0.0.3:${port}`, `[::1]:${port}`].sort());
    // An endpoint change is an EDS-only push: clusters and listeners keep their versions.
    const after = versions();
    expect(after[TypeUrl.Cluster]).toBe(before[TypeUrl.Cluster]);
    expect(after[TypeUrl.Listener]).toBe(before[TypeUrl.Listener]);
    expect(after[TypeUrl.Endpoint]).not.toBe(before[TypeUrl.Endpoint]);
    expect(Object.keys(await servedBy('echo', 80)).sort()).toEqual(['a', 'b', 'c', 'v6']);
    // The controller and admin see the capacity of every endpoint. Within a few load reports, not at
    // once: twice in fresh-clone CI runs (never alone) it read 8 right after the burst and the cause
    // was not found (two hosts briefly counted out by host health is the candidate).
    await waitFor(() => app.read.service('echo')?.inHouseCapacity === 16, 3_000, 'the capacity of all four endpoints');

    dns.setA('fleet.test', ['127.0.0.2', '127.0.0.3'], TTL_S);
    await waitFor(async () => !(await inHouse('echo')).includes(`127.0.0.1:${port}`), WITHIN_MS, 'removed record out of Envoy');
    const served = await servedBy('echo', 60);
    expect(served['a']).toBeUndefined();
    expect(Object.keys(served).sort()).toEqual(['b', 'c', 'v6']);
  });

  it('a DNS outage keeps the last set (reported stale); an empty answer empties it only after the grace period', async () => {
    const set = await inHouse('echo');
    dns.setOutage(true);
    try {
      await waitFor(() => app.read.service('echo')?.endpointSources[0]?.health === 'STALE', WITHIN_MS, 'source reported stale');
      expect(app.read.service('echo')?.endpointSources[0]?.problem).toMatch(/ESERVFAIL; keeping the last good 3 endpoint/);
      await new Promise((r) => setTimeout(r, 3 * TTL_S * 1000));
      expect(await inHouse('echo')).toEqual(set);
      expect(Object.keys(await servedBy('echo')).sort()).toEqual(['b', 'c', 'v6']);
      const metrics = await (await fetch(`http://127.0.0.1:${app.metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/spillway_discovery_source_stale\{service="echo",source="dns fleet.test:\d+"\} 1/);
    } finally {
      dns.setOutage(false);
    }
    await waitFor(() => app.read.service('echo')?.endpointSources[0]?.health === 'OK', WITHIN_MS, 'source answering again');

    dns.setA('fleet.test', [], TTL_S);
    dns.setAAAA('fleet.test', [], TTL_S);
    await waitFor(() => app.read.service('echo')?.endpointSources[0]?.health === 'STALE', WITHIN_MS, 'empty answer noticed');
    const emptyAt = Date.now();
    expect(app.read.service('echo')?.endpointSources[0]?.problem).toMatch(/empty answer while 3 endpoint/);
    expect(await inHouse('echo')).toEqual(set);
    await waitFor(async () => (await inHouse('echo')).length === 0, GRACE_MS + WITHIN_MS, 'empty set believed after the grace period');
    expect(Date.now() - emptyAt).toBeGreaterThan(GRACE_MS - 1500);
    dns.setA('fleet.test', ['127.0.0.2'], TTL_S);
    await waitFor(async () => (await inHouse('echo')).length === 1, WITHIN_MS, 'hosts back');
  });

  it('SRV records give the ports, and their weights the endpoint weights', async () => {
    const eps = await envoy.endpoints('srv');
    expect(Object.fromEntries(eps.map((e) => [e.endpoint, e.weight]))).toEqual({
      [`127.0.0.1:${backends['srv1']!.port}`]: 3,
      [`127.0.0.1:${backends['srv2']!.port}`]: 1,
    });
    const served = await servedBy('srv', 80);
    expect(served['srv1']! / 80).toBeGreaterThan(0.6);
    expect(served['srv2']).toBeGreaterThan(0);
  });

  it('publishes every A and AAAA address of the Modal host, and speaks HTTP/2 to it where ALPN offers h2', async () => {
    const modal = async (): Promise<string[]> =>
      (await envoy.endpoints('spill'))
        .filter((e) => e.zone === 'modal')
        .map((e) => e.endpoint)
        .sort();
    const mport = new URL(fake.httpsUrl).port;
    expect(await modal()).toEqual([`127.0.0.1:${mport}`, `[::1]:${mport}`].sort());
    const versions: Record<string, number> = {};
    for (let i = 0; i < 40; i++) {
      const res = await fetch(url('spill'));
      await res.arrayBuffer();
      expect(res.status).toBe(200);
      const v = res.headers.get(HTTP_VERSION_HEADER) ?? (res.headers.get('x-served-by') ? 'in-house' : 'other');
      versions[v] = (versions[v] ?? 0) + 1;
    }
    expect(versions['2.0']).toBeGreaterThan(5);
    expect(versions['in-house']).toBeGreaterThan(5);
    expect(versions['1.1']).toBeUndefined();

    dns.setAAAA(MODAL_HOST, [], TTL_S);
    dns.setA(MODAL_HOST, ['127.0.0.1'], TTL_S);
    await waitFor(async () => (await modal()).length === 1, WITHIN_MS, 'Modal AAAA record gone from Envoy');
    // The last good addresses stay through an outage.
    dns.setOutage(true);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await modal()).toEqual([`127.0.0.1:${mport}`]);
    dns.setOutage(false);
  });
});
