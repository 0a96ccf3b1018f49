import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpillwayApp } from '../../src/app/spillway-app.js';
import { configFrom } from '../../tools/config-fixtures.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import type { XdsEvent } from '../../src/xds/xds-events.js';
import { startEnvoy, type EnvoyHandle } from '../../tools/envoy/envoy-process.js';
import { dumpSection } from '../../tools/envoy/config-dump.js';
import { sendRequests } from '../support/load.js';
import { waitFor } from '../../tools/wait-for.js';
import { startApp, startTopology, type Topology } from './harness.js';

describe.each(['GRPC', 'DELTA_GRPC'] as const)('a resource Envoy rejects (Envoy api_type %s)', (apiType) => {
  let topo: Topology;
  let app: SpillwayApp;
  let envoy: EnvoyHandle;
  const events: XdsEvent[] = [];

  beforeAll(async () => {
    topo = await startTopology({ share: 0.5 });
    app = await startApp(topo.config);
    app.events.on((e) => events.push(e));
    envoy = await startEnvoy({ xdsPort: app.xdsPort, nodeId: `envoy-nack-1-${apiType}`, apiType });
    await waitFor(() => events.some((e) => e.kind === 'ack' && e.typeUrl === TypeUrl.Route), 20_000, 'initial ACKs');
  });
  afterAll(async () => {
    await envoy?.stop();
    await app?.stop();
    await topo?.close();
  });

  const clusterVersion = async (): Promise<string> => {
    const dump = await envoy.configDump();
    return dumpSection(dump, 'ClustersConfigDump')?.['dynamic_active_clusters']?.[0]?.version_info;
  };

  it('is NACKed once, the last good config keeps serving, and the fix is accepted', async () => {
    const goodVersion = app.cache.current()!.types[TypeUrl.Cluster].version;
    // SotW Envoy reports the type's version; delta Envoy the resource's own version.
    const goodClusterVersion =
      apiType === 'GRPC' ? goodVersion : app.cache.current()!.types[TypeUrl.Cluster].resources.get('echo')!.version;
    expect(await clusterVersion()).toBe(goodClusterVersion);

    // Spillway cannot see Envoy's filesystem: a CA bundle path that does not exist there is valid
    // to Spillway and rejected by Envoy.
    const bad = structuredClone(topo.rawConfig);
    bad['services'][0].modal.ca_bundle = '/nonexistent/spillway-ca.pem';
    const config = configFrom(bad);
    expect(app.publisher.setServices(config.services).ok).toBe(true);
    const badVersion = app.cache.current()!.types[TypeUrl.Cluster].version;
    expect(badVersion).not.toBe(goodVersion);

    const nack = await waitFor(() => events.find((e) => e.kind === 'nack' && e.typeUrl === TypeUrl.Cluster), 15_000, 'CDS NACK');
    expect(nack.kind === 'nack' && nack.detail).toContain('/nonexistent/spillway-ca.pem');
    // The NACK is reported with the version it rejected: the one sent with the nonce Envoy answered.
    expect(nack.kind === 'nack' && nack.version).toBe(badVersion);
    const status = app.syncStatus.node(`envoy-nack-1-${apiType}`).find((r) => r.typeUrl === TypeUrl.Cluster);
    expect(status?.status).toBe('ERROR');
    expect(status?.lastNack?.detail).toContain('nonexistent');

    // Envoy still runs the last good clusters and serves both localities.
    expect(await clusterVersion()).toBe(goodClusterVersion);
    const r = await sendRequests(`http://127.0.0.1:${topo.listenerPort}/`, 400, 8);
    expect(r.failed, r.errors.join(', ')).toBe(0);
    expect(r.byServer['modal'] ?? 0).toBeGreaterThan(100);

    // Other pushes and Envoy's requests in the meantime never bring the rejected version back.
    await new Promise((res) => setTimeout(res, 2500));
    const sentBad = events.filter((e) => e.kind === 'sent' && e.typeUrl === TypeUrl.Cluster && e.version === badVersion);
    expect(sentBad).toHaveLength(1);

    // The fix is published, sent and ACKed.
    expect(app.publisher.setServices(topo.config.services).ok).toBe(true);
    await waitFor(
      () => events.some((e) => e.kind === 'ack' && e.typeUrl === TypeUrl.Cluster && e.version === goodVersion && e.atMs >= nack.atMs),
      15_000,
      'ACK of the fixed config',
    );
    await waitFor(
      () => app.syncStatus.node(`envoy-nack-1-${apiType}`).find((row) => row.typeUrl === TypeUrl.Cluster)?.status === 'SYNCED',
      5_000,
      'CDS back to SYNCED',
    );
  });

  it('an Envoy that NACKed, fixed on its side and restarted with the same node id, gets its config and serves', async () => {
    // A CA bundle path that does not exist on Envoy's host yet: Envoy NACKs the cluster.
    const dir = mkdtempSync(join(tmpdir(), 'spillway-nack-'));
    const caPath = join(dir, 'ca.pem');
    const moved = structuredClone(topo.rawConfig);
    moved['services'][0].modal.ca_bundle = caPath;
    expect(app.publisher.setServices(configFrom(moved).services).ok).toBe(true);
    const movedVersion = app.cache.current()!.types[TypeUrl.Cluster].version;
    await waitFor(
      () => events.some((e) => e.kind === 'nack' && e.typeUrl === TypeUrl.Cluster && e.detail.includes(caPath)),
      15_000,
      'CDS NACK naming the missing CA bundle',
    );
    try {
      // The operator puts the file in place and restarts Envoy: same node id, a fresh process.
      await envoy.stop();
      copyFileSync(topo.pki.caPath, caPath);
      const restartedAt = Date.now();
      envoy = await startEnvoy({ xdsPort: app.xdsPort, nodeId: `envoy-nack-1-${apiType}`, apiType });
      const served = await waitFor(
        async () => {
          const r = await sendRequests(`http://127.0.0.1:${topo.listenerPort}/`, 20, 4);
          return r.ok === 20 ? r : undefined;
        },
        15_000,
        'the restarted Envoy to serve',
      );
      console.log(`${apiType}: the restarted Envoy served 20/20 requests ${Date.now() - restartedAt} ms after its start`);
      expect(served.byServer['modal'] ?? 0).toBeGreaterThan(0);
      const acked = events.some(
        (e) => e.kind === 'ack' && e.typeUrl === TypeUrl.Cluster && e.version === movedVersion && e.atMs >= restartedAt,
      );
      // Delta Envoys ACK with the resource's own version; either way the moved cluster is what runs.
      expect(acked || (await clusterVersion()) === app.cache.current()!.types[TypeUrl.Cluster].resources.get('echo')!.version).toBe(true);
    } finally {
      expect(app.publisher.setServices(topo.config.services).ok).toBe(true);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a desired state that fails validation and keeps the last good snapshot', async () => {
    const before = app.cache.current();
    const r = app.publisher.setPlan('echo', { inHouseWeight: 0, modalWeight: 10, modalHealth: 'HEALTHY', dropPercent: 0 });
    expect(r.ok).toBe(false);
    expect(r.errors.join('\n')).toMatch(/EDS echo: endpoints\[0\] locality weight must be an integer ≥ 1, got 0/);
    expect(app.cache.current()).toBe(before);
    expect(app.publisher.stats.rejected).toBeGreaterThanOrEqual(1);
    const res = await sendRequests(`http://127.0.0.1:${topo.listenerPort}/`, 50, 4);
    expect(res.failed).toBe(0);
  });
});
