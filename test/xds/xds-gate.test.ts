import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { startSpillway, type SpillwayApp } from '../../src/app/spillway-app.js';
import type { DeltaDiscoveryRequest } from '../../src/generated/envoy/service/discovery/v3/DeltaDiscoveryRequest.js';
import type { DiscoveryRequest } from '../../src/generated/envoy/service/discovery/v3/DiscoveryRequest.js';
import type { LoadStatsRequest } from '../../src/generated/envoy/service/load_stats/v3/LoadStatsRequest.js';
import { planForShare } from '../../src/model/traffic-plan.js';
import { loadProtos } from '../../src/protos/load-protos.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import type { XdsEvent } from '../../src/xds/xds-events.js';
import type { RefusalEvent } from '../../src/xds/xds-gate.js';
import { ADS_DELTA_PATH, ADS_SOTW_PATH, LRS_PATH, RawGrpcConnection, type RawGrpcCall } from '../../tools/fuzz/raw-grpc.js';
import { waitFor } from '../../tools/wait-for.js';
import { AdsTestClient } from '../support/ads-client.js';
import { configFrom } from '../../tools/config-fixtures.js';
import { PROTOCOL_TEST_CONFIG } from './fixtures.js';

const ads = loadProtos().protos.envoy.service.discovery.v3.AggregatedDiscoveryService.service;
const lrsService = loadProtos().protos.envoy.service.load_stats.v3.LoadReportingService.service;
const sotw = (r: DiscoveryRequest): Buffer => ads.StreamAggregatedResources.requestSerialize(r);
const delta = (r: DeltaDiscoveryRequest): Buffer => ads.DeltaAggregatedResources.requestSerialize(r);
const lrs = (r: LoadStatsRequest): Buffer => lrsService.StreamLoadStats.requestSerialize(r);

const LIMITS = {
  max_streams_per_connection: 3,
  max_streams_per_node: 2,
  max_names_per_subscription: 50,
  max_name_bytes: 64,
  max_nonce_bytes: 32,
  max_version_bytes: 64,
  max_node_id_bytes: 40,
  max_message_bytes: 4096,
  max_send_buffer_bytes: 2048,
  max_error_detail_bytes: 100,
};

describe('xDS gate: every limit enforced, every refusal naming it', () => {
  let app: SpillwayApp | undefined;
  const connections: RawGrpcConnection[] = [];
  const refusals: RefusalEvent[] = [];
  const events: XdsEvent[] = [];

  const start = async (limits: Record<string, number> = LIMITS): Promise<SpillwayApp> => {
    app = await startSpillway(configFrom({ ...PROTOCOL_TEST_CONFIG, xds: { listen: '127.0.0.1:0', limits } }));
    app.gate.onRefused((r) => refusals.push(r));
    app.events.on((e) => events.push(e));
    return app;
  };
  const connect = (opts: { neverRead?: boolean } = {}): RawGrpcConnection => {
    const c = new RawGrpcConnection(`127.0.0.1:${app!.xdsPort}`, opts);
    connections.push(c);
    return c;
  };
  /** A SotW stream that subscribed to clusters as `node` and got its first response. */
  const subscribed = async (conn: RawGrpcConnection, node: string): Promise<RawGrpcCall> => {
    const call = conn.open(ADS_SOTW_PATH);
    call.send(sotw({ node: { id: node }, type_url: TypeUrl.Cluster }));
    await waitFor(() => call.messages.length > 0, 3000, `CDS for ${node}`);
    return call;
  };
  const statusOf = async (call: RawGrpcCall): Promise<{ code: number | undefined; message: string }> => {
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no status within 3 s')), 3000));
    return Promise.race([call.ended, timeout]);
  };

  afterEach(async () => {
    for (const c of connections.splice(0)) c.close();
    await app?.stop();
    app = undefined;
    refusals.length = 0;
    events.length = 0;
  });

  it('streams per connection: the next stream is RESOURCE_EXHAUSTED naming the limit, and a freed slot is reused', async () => {
    await start();
    const conn = connect();
    const open = [await subscribed(conn, 'n1'), await subscribed(conn, 'n2'), await subscribed(conn, 'n3')];
    const extra = conn.open(ADS_SOTW_PATH);
    extra.send(sotw({ node: { id: 'n4' }, type_url: TypeUrl.Cluster }));
    const end = await statusOf(extra);
    expect(end.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(end.message).toContain('xds.limits.max_streams_per_connection = 3');
    // LRS streams count on the same connection.
    const lrsExtra = conn.open(LRS_PATH);
    expect((await statusOf(lrsExtra)).message).toContain('xds.limits.max_streams_per_connection');
    open[0]!.cancel();
    await waitFor(() => app!.gate.counts().connections === 1 && app!.ads.connectedStreams() === 2, 3000, 'the slot to free');
    await subscribed(conn, 'n5');
    expect(refusals.filter((r) => r.rule === 'xds.limits.max_streams_per_connection').length).toBe(2);
  });

  it('streams per node: a third stream for one node id is refused; other nodes are not affected', async () => {
    await start();
    await subscribed(connect(), 'same');
    await subscribed(connect(), 'same');
    const third = connect().open(ADS_SOTW_PATH);
    third.send(sotw({ node: { id: 'same' }, type_url: TypeUrl.Cluster }));
    const end = await statusOf(third);
    expect(end.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(end.message).toContain('node "same" already has 2 ADS streams; xds.limits.max_streams_per_node = 2');
    await subscribed(connect(), 'other');
  });

  it('names per subscription: SotW per request, delta over the whole subscription', async () => {
    await start();
    const names = (n: number, prefix = 'x'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
    const big = connect().open(ADS_SOTW_PATH);
    big.send(sotw({ node: { id: 'n' }, type_url: TypeUrl.Endpoint, resource_names: names(51) }));
    const end = await statusOf(big);
    expect(end.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(end.message).toContain('resource_names has 51 names; xds.limits.max_names_per_subscription = 50');

    const d = connect().open(ADS_DELTA_PATH);
    d.send(delta({ node: { id: 'd' }, type_url: TypeUrl.Endpoint, resource_names_subscribe: names(30, 'a') }));
    d.send(delta({ type_url: TypeUrl.Endpoint, resource_names_unsubscribe: names(10, 'a') }));
    d.send(delta({ type_url: TypeUrl.Endpoint, resource_names_subscribe: names(30, 'b') }));
    // 50 now: at the limit, still served.
    await new Promise((r) => setTimeout(r, 200));
    expect(app!.ads.connectedStreams()).toBe(1);
    d.send(delta({ type_url: TypeUrl.Endpoint, resource_names_subscribe: ['one-more'] }));
    const dEnd = await statusOf(d);
    expect(dEnd.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(dEnd.message).toContain('would hold 51 names; xds.limits.max_names_per_subscription = 50');
  });

  it('string lengths: node id, nonce, version and names are INVALID_ARGUMENT naming their limit', async () => {
    await start();
    const cases: Array<[DiscoveryRequest, string]> = [
      [{ node: { id: 'n'.repeat(41) }, type_url: TypeUrl.Cluster }, 'node.id has 41 characters; xds.limits.max_node_id_bytes = 40'],
      [{ node: { id: 'n' }, type_url: TypeUrl.Cluster, response_nonce: 'z'.repeat(33) }, 'xds.limits.max_nonce_bytes = 32'],
      [{ node: { id: 'n' }, type_url: TypeUrl.Cluster, version_info: 'v'.repeat(65) }, 'xds.limits.max_version_bytes = 64'],
      [{ node: { id: 'n' }, type_url: TypeUrl.Endpoint, resource_names: ['ok', 'x'.repeat(65)] }, 'xds.limits.max_name_bytes = 64'],
    ];
    for (const [req, named] of cases) {
      const call = connect().open(ADS_SOTW_PATH);
      call.send(sotw(req));
      const end = await statusOf(call);
      expect(end.code, named).toBe(grpc.status.INVALID_ARGUMENT);
      expect(end.message).toContain(named);
    }
  });

  it('request rate per stream: a burst past request_burst is refused naming the rate limit', async () => {
    await start({ max_requests_per_second: 2, request_burst: 5 });
    const call = connect().open(ADS_SOTW_PATH);
    call.send(sotw({ node: { id: 'chatty' }, type_url: TypeUrl.Cluster }));
    for (let i = 0; i < 10; i++) call.send(sotw({ type_url: TypeUrl.Cluster, response_nonce: 'stale' }));
    const end = await statusOf(call);
    expect(end.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(end.message).toContain('xds.limits.max_requests_per_second = 2 (xds.limits.request_burst = 5)');
    // A well-behaved client at that rate is fine.
    const calm = await subscribed(connect(), 'calm');
    expect(calm.messages.length).toBe(1);
  });

  it('message size: over the limit is RESOURCE_EXHAUSTED naming it; garbage is INVALID_ARGUMENT naming the message type', async () => {
    await start();
    const big = connect().open(ADS_SOTW_PATH);
    big.send(sotw({ node: { id: 'big' }, type_url: TypeUrl.Cluster, resource_names: Array.from({ length: 80 }, () => 'y'.repeat(60)) }));
    const end = await statusOf(big);
    expect(end.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(end.message).toMatch(/message of \d+ bytes exceeds xds\.limits\.max_message_bytes = 4096/);

    const garbage = connect().open(ADS_DELTA_PATH);
    garbage.send(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    const gEnd = await statusOf(garbage);
    expect(gEnd.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(gEnd.message).toContain('not a valid DeltaDiscoveryRequest');

    const lrsGarbage = connect().open(LRS_PATH);
    lrsGarbage.send(Buffer.from([0x12, 0x05, 0x01]));
    expect((await statusOf(lrsGarbage)).message).toContain('not a valid LoadStatsRequest');
  });

  it('a client that never reads is ended at max_send_buffer_bytes; a client that reads keeps its stream', async () => {
    await start();
    const healthy = new AdsTestClient(`127.0.0.1:${app!.xdsPort}`);
    try {
      healthy.send({ node: { id: 'healthy' }, type_url: TypeUrl.Endpoint, resource_names: ['alpha'] });
      await healthy.waitForResponses(1, TypeUrl.Endpoint);
      const stuck = connect({ neverRead: true }).open(ADS_SOTW_PATH, { neverRead: true });
      stuck.send(sotw({ node: { id: 'stuck' }, type_url: TypeUrl.Cluster }));
      stuck.send(sotw({ type_url: TypeUrl.Endpoint, resource_names: ['alpha', 'beta'] }));
      stuck.send(sotw({ type_url: TypeUrl.Listener }));
      stuck.send(sotw({ type_url: TypeUrl.Route, resource_names: ['alpha', 'beta'] }));
      for (let i = 1; i <= 20 && !refusals.some((r) => r.nodeId === 'stuck'); i++) {
        app!.publisher.setPlan('alpha', planForShare(i / 40));
        await new Promise((r) => setTimeout(r, 20));
      }
      await waitFor(() => refusals.find((r) => r.nodeId === 'stuck'), 3000, 'the stuck stream to be refused');
      expect(refusals.filter((r) => r.nodeId === 'stuck').map((r) => r.rule)).toEqual(['xds.limits.max_send_buffer_bytes']);
      expect(events.some((e) => e.kind === 'stream-closed' && e.nodeId === 'stuck')).toBe(true);
      // The reading client got every push and is still connected.
      app!.publisher.setPlan('alpha', planForShare(0.9));
      await waitFor(
        () => healthy.of(TypeUrl.Endpoint).at(-1)?.version_info === app!.cache.current()!.types[TypeUrl.Endpoint].version,
        3000,
        'the healthy client to get the last push',
      );
      expect(healthy.status).toBeUndefined();
    } finally {
      healthy.close();
    }
  });

  it('a NACK detail longer than max_error_detail_bytes is cut before it is kept, never refused', async () => {
    await start();
    const c = new AdsTestClient(`127.0.0.1:${app!.xdsPort}`);
    try {
      c.send({ node: { id: 'nacker' }, type_url: TypeUrl.Cluster });
      const [cds] = await c.waitForResponses(1, TypeUrl.Cluster);
      c.send({ type_url: TypeUrl.Cluster, response_nonce: cds!.nonce, error_detail: { code: 3, message: 'e'.repeat(3000) } });
      const nack = await waitFor(() => events.find((e) => e.kind === 'nack'), 3000, 'the NACK');
      expect(nack.kind === 'nack' && nack.detail.length).toBeLessThan(200);
      expect(nack.kind === 'nack' && nack.detail).toContain('cut at xds.limits.max_error_detail_bytes = 100');
      expect(c.status).toBeUndefined();
    } finally {
      c.close();
    }
  });

  it('LRS streams obey the same gate, and refusals are counted in metrics by rule', async () => {
    await start();
    const call = connect().open(LRS_PATH);
    call.send(lrs({ node: { id: 'r'.repeat(41) } }));
    expect((await statusOf(call)).message).toContain('xds.limits.max_node_id_bytes');
    const text = await (await fetch(`http://127.0.0.1:${app!.metricsPort}/metrics`)).text();
    expect(text).toMatch(/spillway_xds_refused_total\{service="lrs",rule="xds.limits.max_node_id_bytes",code="INVALID_ARGUMENT"\} 1/);
    expect(text).toMatch(/spillway_lrs_rejected_total\{reason="refused-stream"\} 1/);
  });
});
