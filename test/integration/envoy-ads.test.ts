import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpillwayApp } from '../../src/app/spillway-app.js';
import { planForShare } from '../../src/model/traffic-plan.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import type { XdsEvent } from '../../src/xds/xds-events.js';
import { startEnvoy, type EnvoyHandle } from '../../tools/envoy/envoy-process.js';
import { dumpSection } from '../../tools/envoy/config-dump.js';
import { sendRequests } from '../support/load.js';
import { waitFor } from '../../tools/wait-for.js';
import { MODAL_HOST, startApp, startTopology, type Topology } from './harness.js';

describe.each(['GRPC', 'DELTA_GRPC'] as const)('real Envoy on state-of-the-world ADS (Envoy api_type %s)', (apiType) => {
  let topo: Topology;
  let app: SpillwayApp;
  let envoy: EnvoyHandle;
  const events: XdsEvent[] = [];

  beforeAll(async () => {
    topo = await startTopology();
    app = await startApp(topo.config);
    app.events.on((e) => events.push(e));
    envoy = await startEnvoy({ xdsPort: app.xdsPort, nodeId: `envoy-sotw-1-${apiType}`, apiType });
  });
  afterAll(async () => {
    await envoy?.stop();
    await app?.stop();
    await topo?.close();
  });

  const url = (): string => `http://127.0.0.1:${topo.listenerPort}/hello`;

  /** Waits until Envoy runs the CLA whose Modal locality weight is `modalWeight` (0 = absent). */
  async function waitForModalWeight(modalWeight: number): Promise<void> {
    await waitFor(
      async () => {
        const l = await envoy.localities('echo');
        return l.has('in-house') && (l.get('modal')?.weight ?? 0) === modalWeight;
      },
      15_000,
      `Envoy to run Modal weight ${modalWeight}`,
    );
  }

  it('ACKs all four types and proxies HTTP to the in-house backends', async () => {
    await waitFor(
      () => {
        const acked = new Set(events.filter((e) => e.kind === 'ack').map((e) => (e as { typeUrl: string }).typeUrl));
        return [TypeUrl.Cluster, TypeUrl.Endpoint, TypeUrl.Listener, TypeUrl.Route].every((t) => acked.has(t));
      },
      20_000,
      'ACKs for CDS, EDS, LDS and RDS',
    );
    expect(events.some((e) => e.kind === 'nack')).toBe(false);
    const dump = await envoy.configDump();
    const clusters = dumpSection(dump, 'ClustersConfigDump');
    // The service's cluster and its HTTP/1.1 twin for WebSocket upgrades (Modal is offered h2).
    expect(clusters?.['dynamic_active_clusters']?.map((c: any) => c.cluster.name).sort()).toEqual(['echo', 'echo:upgrade']);
    const listeners = dumpSection(dump, 'ListenersConfigDump');
    expect(listeners?.['dynamic_listeners']?.map((l: any) => l.name)).toEqual(['echo']);

    const r = await waitFor(
      async () => {
        const res = await sendRequests(url(), 20, 4);
        return res.ok === 20 ? res : undefined;
      },
      15_000,
      'traffic through Envoy',
    );
    expect(Object.keys(r.byServer).sort()).toEqual(['inhouse-a', 'inhouse-b']);
  });

  for (const share of [0, 0.3, 0.75]) {
    it(`splits traffic by the published weights (Modal share ${share * 100} %)`, async () => {
      const plan = planForShare(share);
      expect(app.publisher.setPlan('echo', plan).ok).toBe(true);
      await waitForModalWeight(plan.modalWeight);
      topo.modal.requests.length = 0;
      const total = 2000;
      const r = await sendRequests(url(), total, 16);
      expect(r.failed, r.errors.join(', ')).toBe(0);
      const modalShare = (r.byServer['modal'] ?? 0) / total;
      expect(Math.abs(modalShare - share)).toBeLessThanOrEqual(0.03);
      if (share === 0) {
        expect(topo.modal.requests.length).toBe(0);
      } else {
        expect(topo.modal.requests.length).toBeGreaterThan(0);
        // Modal sees TLS with its own hostname as SNI, and its hostname as Host (auto_host_rewrite).
        const hs = topo.modal.handshakes;
        expect(hs.completed).toBeGreaterThan(0);
        expect(hs.sni.length).toBe(hs.completed);
        expect(new Set(hs.sni)).toEqual(new Set([MODAL_HOST]));
        expect(new Set(topo.modal.requests.map((q) => q.host?.replace(/:\d+$/, '')))).toEqual(new Set([MODAL_HOST]));
      }
    });
  }

  it('a soft-cordoned (DEGRADED) Modal gets no traffic while in-house hosts are healthy, even with only two of them', async () => {
    expect(app.publisher.setPlan('echo', { inHouseWeight: 500, modalWeight: 500, modalHealth: 'DEGRADED', dropPercent: 0 }).ok).toBe(true);
    await waitFor(
      async () => (await envoy.localities('echo')).get('modal')?.health === 'DEGRADED',
      15_000,
      'Envoy running a DEGRADED Modal endpoint',
    );
    const r = await sendRequests(url(), 1000, 16);
    expect(r.failed, r.errors.join(', ')).toBe(0);
    expect(r.byServer['modal'] ?? 0).toBe(0);
  });
});
