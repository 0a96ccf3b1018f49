// CSDS on the admin port, read with a plain gRPC client built from Envoy's own csds.proto, checked
// against what two real Envoys report in their config_dump: one in sync, one rejecting a listener
// (a static listener of its own holds that listener's address, so Envoy NACKs it and keeps the rest).
import { copyFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpillwayApp } from '../../src/app/spillway-app.js';
import { loadProtos } from '../../src/protos/load-protos.js';
import { envoyIncludeDirs } from '../../src/protos/proto-paths.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import { dumpSection, type ConfigDump } from '../../tools/envoy/config-dump.js';
import { startEnvoy, type EnvoyHandle } from '../../tools/envoy/envoy-process.js';
import { waitFor } from '../../tools/wait-for.js';
import { configFrom } from '../../tools/config-fixtures.js';
import { freePort } from '../../tools/ports.js';
import { startApp, startTopology, type Topology } from './harness.js';

interface GenericXdsConfig {
  type_url: string;
  name: string;
  version_info: string;
  xds_config: { type_url: string; value: Buffer } | null;
  config_status: string;
  client_status: string;
  error_state: { details: string; version_info: string; failed_configuration: { value: Buffer } | null } | null;
}
interface ClientConfig {
  node: { id: string; cluster: string; user_agent_name: string; user_agent_version?: string };
  generic_xds_configs: GenericXdsConfig[];
}
interface ClientStatusResponse {
  config: ClientConfig[];
}
type CsdsClient = grpc.Client & {
  FetchClientStatus(req: object, cb: (err: grpc.ServiceError | null, res?: ClientStatusResponse) => void): void;
  StreamClientStatus(): grpc.ClientDuplexStream<object, ClientStatusResponse>;
};

/** A CSDS client from Envoy's csds.proto, as any operator tool would build it. */
function csdsClient(address: string): CsdsClient {
  const def = protoLoader.loadSync('envoy/service/status/v3/csds.proto', {
    includeDirs: envoyIncludeDirs(),
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    envoy: { service: { status: { v3: { ClientStatusDiscoveryService: new (a: string, c: grpc.ChannelCredentials) => CsdsClient } } } };
  };
  return new pkg.envoy.service.status.v3.ClientStatusDiscoveryService(address, grpc.credentials.createInsecure());
}

const fetchStatus = (client: CsdsClient, req: object): Promise<{ res?: ClientStatusResponse; err?: grpc.ServiceError }> =>
  new Promise((resolve) => client.FetchClientStatus(req, (err, res) => resolve(err ? { err } : { res: res! })));

const byName = (c: ClientConfig, typeUrl: string): Map<string, GenericXdsConfig> =>
  new Map(c.generic_xds_configs.filter((x) => x.type_url === typeUrl).map((x) => [x.name, x]));

/** What Envoy's own config_dump says it runs, per type and name. */
function dumped(dump: ConfigDump) {
  const clusters = new Map<string, string>(
    (dumpSection(dump, '.ClustersConfigDump')?.['dynamic_active_clusters'] ?? []).map((c: any) => [c.cluster.name, c.version_info]),
  );
  // Envoy 1.40 lists a rejected listener's error twice: under its name, and once more without one.
  const listeners = new Map<string, { version?: string; error?: string }>(
    (dumpSection(dump, '.ListenersConfigDump')?.['dynamic_listeners'] ?? [])
      .filter((l: any) => l.name)
      .map((l: any) => [l.name, { version: l.active_state?.version_info, error: l.error_state?.details }]),
  );
  const routes = new Map<string, string>(
    (dumpSection(dump, '.RoutesConfigDump')?.['dynamic_route_configs'] ?? []).map((r: any) => [r.route_config.name, r.version_info]),
  );
  const endpoints = new Map<string, Array<[string, number]>>(
    (dumpSection(dump, '.EndpointsConfigDump')?.['dynamic_endpoint_configs'] ?? []).map((e: any) => [
      e.endpoint_config.cluster_name,
      (e.endpoint_config.endpoints ?? []).map((l: any) => [l.locality?.zone ?? '', l.load_balancing_weight ?? 0]),
    ]),
  );
  return { clusters, listeners, routes, endpoints };
}

describe.each(['GRPC', 'DELTA_GRPC'] as const)('CSDS against real Envoys (api_type %s)', (apiType) => {
  let topo: Topology;
  let app: SpillwayApp;
  let good: EnvoyHandle;
  let nacking: EnvoyHandle;
  let client: CsdsClient;
  let blockedPort: number;
  let raw: Record<string, any>;
  const goodId = `csds-good-${apiType}`;
  const nackId = `csds-nack-${apiType}`;

  beforeAll(async () => {
    topo = await startTopology({ share: 0.3 });
    raw = structuredClone(topo.rawConfig);
    const second = structuredClone(raw['services'][0]);
    second.name = 'echo2';
    blockedPort = await freePort();
    second.listener = `127.0.0.1:${blockedPort}`;
    raw['services'].push(second);
    app = await startApp(configFrom(raw));
    good = await startEnvoy({
      xdsPort: app.xdsPort,
      nodeId: goodId,
      apiType,
      patch: (b: any) => {
        b.node.metadata = { role: 'canary', shard: 3 };
      },
    });
    nacking = await startEnvoy({
      xdsPort: app.xdsPort,
      nodeId: nackId,
      apiType,
      patch: (b: any) => {
        b.static_resources.listeners = [
          {
            name: 'occupier',
            address: { socket_address: { address: '127.0.0.1', port_value: blockedPort } },
            filter_chains: [
              {
                filters: [
                  {
                    name: 'envoy.filters.network.direct_response',
                    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.direct_response.v3.Config' },
                  },
                ],
              },
            ],
          },
        ];
      },
    });
    client = csdsClient(`127.0.0.1:${app.adminPort}`);
    await waitFor(
      () => {
        const rows = app.syncStatus.snapshot().rows;
        const settled = (id: string) => rows.filter((r) => r.nodeId === id).every((r) => r.status === 'SYNCED' || r.status === 'ERROR');
        return rows.length === 8 && settled(goodId) && settled(nackId) && rows.some((r) => r.status === 'ERROR');
      },
      20_000,
      'both Envoys settled, one NACKing',
    );
  });
  afterAll(async () => {
    client?.close();
    await good?.stop();
    await nacking?.stop();
    await app?.stop();
    await topo?.close();
  });

  /** CSDS and config_dump agree on every resource the Envoy runs. */
  const expectAgreement = async (envoy: EnvoyHandle, config: ClientConfig): Promise<void> => {
    const d = dumped(await envoy.configDump('?include_eds'));
    const cds = byName(config, TypeUrl.Cluster);
    expect([...cds.keys()].sort()).toEqual([...d.clusters.keys()].sort());
    for (const [name, version] of d.clusters) expect(cds.get(name)?.version_info, `CDS ${name}`).toBe(version);

    const lds = byName(config, TypeUrl.Listener);
    expect([...lds.keys()].sort()).toEqual([...d.listeners.keys()].sort());
    for (const [name, l] of d.listeners) {
      expect(lds.get(name)?.version_info ?? '', `LDS ${name}`).toBe(l.version ?? '');
      if (l.error) expect(lds.get(name)?.error_state?.details, `LDS ${name} error`).toContain(l.error);
    }

    const rds = byName(config, TypeUrl.Route);
    expect([...rds.keys()].sort()).toEqual([...d.routes.keys()].sort());
    for (const [name, version] of d.routes) expect(rds.get(name)?.version_info, `RDS ${name}`).toBe(version);

    // Envoy's dump carries no per-CLA version in SotW: compare what it runs, locality by locality.
    const { protos } = loadProtos();
    const cla = protos.envoy.config.endpoint.v3.ClusterLoadAssignment;
    const eds = byName(config, TypeUrl.Endpoint);
    expect([...eds.keys()].sort()).toEqual([...d.endpoints.keys()].sort());
    for (const [name, localities] of d.endpoints) {
      const content = eds.get(name)?.xds_config;
      expect(content?.type_url).toBe(TypeUrl.Endpoint);
      const decoded = cla.deserialize(content!.value);
      expect(
        decoded.endpoints.map((l) => [l.locality?.zone ?? '', l.load_balancing_weight?.value ?? 0]),
        `EDS ${name}`,
      ).toEqual(localities);
    }
  };

  it('reports per node and per resource what each Envoy runs, in the standard vocabulary', async () => {
    const { res, err } = await fetchStatus(client, {});
    expect(err).toBeUndefined();
    const ids = res!.config.map((c) => c.node.id).sort();
    expect(ids).toEqual([goodId, nackId].sort());

    const g = res!.config.find((c) => c.node.id === goodId)!;
    expect(g.node).toMatchObject({
      cluster: 'spillway-test',
      user_agent_name: 'envoy',
      user_agent_version: expect.stringMatching(/^1\.\d+\.\d+$/),
    });
    // One entry per resource Spillway serves (clusters include the WebSocket twins).
    expect(g.generic_xds_configs.length).toBe(Object.values(app.cache.current()!.types).reduce((n, t) => n + t.resources.size, 0));
    for (const c of g.generic_xds_configs) expect([c.name, c.config_status, c.client_status]).toEqual([c.name, 'SYNCED', 'ACKED']);
    await expectAgreement(good, g);

    const n = res!.config.find((c) => c.node.id === nackId)!;
    const lds = byName(n, TypeUrl.Listener);
    expect(lds.get('echo')).toMatchObject({ config_status: 'SYNCED', client_status: 'ACKED' });
    const rejected = lds.get('echo2')!;
    expect(rejected).toMatchObject({ config_status: 'ERROR', client_status: 'NACKED', version_info: '' });
    expect(rejected.error_state?.details).toContain(`duplicate address '127.0.0.1:${blockedPort}'`);
    expect(rejected.error_state?.failed_configuration?.value.length).toBeGreaterThan(0);
    // Without the listener, the Envoy never asks for its route: only echo's is there.
    expect([...byName(n, TypeUrl.Route).keys()]).toEqual(['echo']);
    await expectAgreement(nacking, n);
  });

  it('follows a weight change, then a change to one cluster, as the Envoys ACK them', async () => {
    expect(app.publisher.setPlan('echo', { inHouseWeight: 400, modalWeight: 600, modalHealth: 'HEALTHY', dropPercent: 0 }).ok).toBe(true);
    const edsEcho = async (id: string) =>
      byName((await fetchStatus(client, { node_matchers: [{ node_id: { exact: id } }] })).res!.config[0]!, TypeUrl.Endpoint).get('echo');
    await waitFor(
      async () => (await edsEcho(goodId))?.config_status === 'SYNCED' && (await edsEcho(nackId))?.config_status === 'SYNCED',
      10_000,
      'EDS SYNCED',
    );
    for (const envoy of [good, nacking]) {
      const { res } = await fetchStatus(client, { node_matchers: [{ node_id: { exact: envoy.nodeId } }] });
      await expectAgreement(envoy, res!.config[0]!);
    }

    // Only echo's cluster changes (another path to the same CA): in SotW, Envoy gives echo the new
    // response's version and keeps echo2 at the version it had.
    const ca = `${topo.pki.caPath}.copy.pem`;
    copyFileSync(topo.pki.caPath, ca);
    const next = structuredClone(raw);
    next['services'][0].modal.ca_bundle = ca;
    expect(app.publisher.setServices(configFrom(next).services).ok).toBe(true);
    const cdsEcho = app.cache.current()!.types[TypeUrl.Cluster].resources.get('echo')!.version;
    const synced = async (id: string) => {
      const c = (await fetchStatus(client, { node_matchers: [{ node_id: { exact: id } }] })).res!.config[0]!;
      const cds = byName(c, TypeUrl.Cluster).get('echo');
      return cds?.config_status === 'SYNCED' && Buffer.from(cds.xds_config!.value).length > 0 ? c : undefined;
    };
    for (const envoy of [good, nacking]) {
      const c = await waitFor(() => synced(envoy.nodeId), 10_000, 'CDS SYNCED after the cluster change');
      const cds = byName(c, TypeUrl.Cluster);
      if (apiType === 'DELTA_GRPC') expect(cds.get('echo')?.version_info).toBe(cdsEcho);
      else expect(cds.get('echo')?.version_info).not.toBe(cds.get('echo2')?.version_info);
      await waitFor(
        async () => {
          const again = (await fetchStatus(client, { node_matchers: [{ node_id: { exact: envoy.nodeId } }] })).res!.config[0]!;
          await expectAgreement(envoy, again);
          return true;
        },
        10_000,
        'CSDS and config_dump agree after the cluster change',
      );
    }
  });

  it('honours node matchers (id and metadata) and leaves contents out on request', async () => {
    const ids = async (req: object) => (await fetchStatus(client, req)).res!.config.map((c) => c.node.id).sort();
    expect(await ids({ node_matchers: [{ node_id: { exact: nackId } }] })).toEqual([nackId]);
    expect(await ids({ node_matchers: [{ node_id: { prefix: 'csds-good' } }] })).toEqual([goodId]);
    expect(await ids({ node_matchers: [{ node_id: { safe_regex: { regex: 'csds-(good|nack)-.*' } } }] })).toEqual([goodId, nackId].sort());
    expect(await ids({ node_matchers: [{ node_id: { exact: 'nobody' } }] })).toEqual([]);
    const canary = { path: [{ key: 'role' }], value: { string_match: { exact: 'canary' } } };
    expect(await ids({ node_matchers: [{ node_metadatas: [canary] }] })).toEqual([goodId]);
    const shard = { path: [{ key: 'shard' }], value: { double_match: { range: { start: 3, end: 4 } } } };
    expect(await ids({ node_matchers: [{ node_metadatas: [canary, shard] }] })).toEqual([goodId]);
    // Matchers are "any of".
    expect(await ids({ node_matchers: [{ node_metadatas: [canary] }, { node_id: { suffix: nackId.slice(-8) } }] })).toEqual(
      [goodId, nackId].sort(),
    );

    const slim = (await fetchStatus(client, { exclude_resource_contents: true })).res!;
    const all = slim.config.flatMap((c) => c.generic_xds_configs);
    expect(all.length).toBeGreaterThan(0);
    expect(all.every((c) => c.xds_config === null && (c.error_state?.failed_configuration ?? null) === null)).toBe(true);
    expect(all.every((c) => c.version_info !== '' || c.config_status !== 'SYNCED')).toBe(true);

    const bad = await fetchStatus(client, { node_matchers: [{ node_id: { safe_regex: { regex: '(' } } }] });
    expect(bad.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.err?.details).toMatch(/^node_matchers\[0\]\.node_id\.safe_regex\.regex: /);
  });

  it('answers every request on a StreamClientStatus stream', async () => {
    const call = client.StreamClientStatus();
    const got: ClientStatusResponse[] = [];
    call.on('data', (r: ClientStatusResponse) => got.push(r));
    try {
      call.write({ node_matchers: [{ node_id: { exact: goodId } }] });
      await waitFor(() => got.length === 1, 5_000, 'first answer');
      call.write({ node_matchers: [{ node_id: { exact: nackId } }] });
      await waitFor(() => got.length === 2, 5_000, 'second answer');
      expect(got.map((r) => r.config.map((c) => c.node.id))).toEqual([[goodId], [nackId]]);
    } finally {
      call.end();
    }
  });
});
