import { EventEmitter } from 'node:events';
import { beforeEach, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { startSpillway, type SpillwayApp } from '../../src/app/spillway-app.js';
import { systemClock } from '../../src/core/clock.js';
import type { SpillwayConfig } from '../../src/config/config-types.js';
import { loadProtos } from '../../src/protos/load-protos.js';
import { planForShare } from '../../src/model/traffic-plan.js';
import { AdsServer } from '../../src/xds/ads-server.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import { XdsEvents } from '../../src/xds/xds-events.js';
import { AdsTestClient } from '../support/ads-client.js';
import { protocolTestConfig, useProtocolTestApp } from './fixtures.js';

const config = (): { config: SpillwayConfig } => ({ config: protocolTestConfig() });
const node = { id: 'test-node', cluster: 'test' };

describe('ADS server (SotW) over gRPC', () => {
  const harness = useProtocolTestApp((address) => new AdsTestClient(address));
  const client = harness.client;
  let app: SpillwayApp;
  beforeEach(() => {
    app = harness.app();
  });

  /** Subscribes like Envoy does and ACKs the first response of every type. */
  async function subscribeAll(c: AdsTestClient): Promise<void> {
    c.send({ node, type_url: TypeUrl.Cluster });
    const [cds] = await c.waitForResponses(1, TypeUrl.Cluster);
    c.send({ type_url: TypeUrl.Cluster, version_info: cds!.version_info, response_nonce: cds!.nonce });
    c.send({ type_url: TypeUrl.Endpoint, resource_names: ['alpha', 'beta'] });
    const [eds] = await c.waitForResponses(1, TypeUrl.Endpoint);
    c.send({ type_url: TypeUrl.Endpoint, version_info: eds!.version_info, response_nonce: eds!.nonce, resource_names: ['alpha', 'beta'] });
    c.send({ type_url: TypeUrl.Listener });
    const [lds] = await c.waitForResponses(1, TypeUrl.Listener);
    c.send({ type_url: TypeUrl.Listener, version_info: lds!.version_info, response_nonce: lds!.nonce });
    c.send({ type_url: TypeUrl.Route, resource_names: ['alpha', 'beta'] });
    const [rds] = await c.waitForResponses(1, TypeUrl.Route);
    c.send({ type_url: TypeUrl.Route, version_info: rds!.version_info, response_nonce: rds!.nonce, resource_names: ['alpha', 'beta'] });
    await c.settle(100);
  }

  it('serves every type, each resource packed with the response type URL', async () => {
    const c = client();
    await subscribeAll(c);
    expect(c.responses.map((r) => r.type_url)).toEqual([TypeUrl.Cluster, TypeUrl.Endpoint, TypeUrl.Listener, TypeUrl.Route]);
    for (const r of c.responses) {
      expect(r.resources).toHaveLength(2);
      for (const any of r.resources) expect('type_url' in any && any.type_url).toBe(r.type_url);
      expect(r.nonce).not.toBe('');
    }
    expect(new Set(c.responses.map((r) => r.nonce)).size).toBe(4);
  });

  it('a weight change pushes only EDS, only the changed content; an identical state pushes nothing', async () => {
    const c = client();
    await subscribeAll(c);
    const before = c.responses.length;
    app.publisher.setPlan('alpha', planForShare(0.5));
    const eds = await c.waitForResponses(2, TypeUrl.Endpoint);
    expect(c.responses.length).toBe(before + 1);
    expect(eds[1]!.version_info).not.toBe(eds[0]!.version_info);
    const cla = app.cache.current()!.types[TypeUrl.Endpoint].resources.get('alpha');
    expect(cla).toBeDefined();
    // Identical state: no new version, no push.
    expect(app.publisher.setPlan('alpha', planForShare(0.5)).changed.size).toBe(0);
    expect(await c.settle(200)).toBe(before + 1);
  });

  it('after any CDS change the CLA is sent again even if endpoints are unchanged', async () => {
    const c = client();
    await subscribeAll(c);
    const r = config();
    r.config.services[0]!.route.timeoutMs = 30_000; // changes RDS only
    r.config.services[1]!.modal = undefined;
    const svc = { ...r.config.services[0]!, modal: { ...r.config.services[0]!.modal!, caBundle: '/etc/other-ca.pem' } };
    app.publisher.setServices([svc, r.config.services[1]!]);
    const [, cds] = await c.waitForResponses(2, TypeUrl.Cluster);
    const edsCount = c.responses.filter((x) => x.type_url === TypeUrl.Endpoint).length;
    // Envoy's re-request for the changed cluster's CLA looks exactly like an ACK.
    const lastEds = c.responses.filter((x) => x.type_url === TypeUrl.Endpoint).at(-1)!;
    c.send({ type_url: TypeUrl.Cluster, version_info: cds!.version_info, response_nonce: cds!.nonce });
    c.send({
      type_url: TypeUrl.Endpoint,
      version_info: lastEds.version_info,
      response_nonce: lastEds.nonce,
      resource_names: ['alpha', 'beta'],
    });
    await c.waitForResponses(edsCount + 1, TypeUrl.Endpoint);
  });

  it('a cluster that changed while its CLA did not gets that CLA in the same flush (it would warm otherwise)', async () => {
    const c = client();
    await subscribeAll(c);
    const before = c.responses.length;
    const [alpha, beta] = config().config.services;
    // One publish: alpha's cluster changes (CA bundle) but not its CLA; beta's CLA changes (capacity).
    const changedAlpha = { ...alpha!, modal: { ...alpha!.modal!, caBundle: '/etc/other-ca.pem' } };
    const changedBeta = { ...beta!, inHouse: beta!.inHouse.map((e) => ({ ...e, capacity: e.capacity + 1 })) };
    app.publisher.setServices([changedAlpha, changedBeta]);
    await c.waitForResponses(before + 2);
    await c.settle(100);
    const pushed = c.responses.slice(before);
    expect(pushed.map((r) => r.type_url)).toEqual([TypeUrl.Cluster, TypeUrl.Endpoint]);
    const { protos } = loadProtos();
    const Cla = protos.envoy.config.endpoint.v3.ClusterLoadAssignment;
    const names = pushed[1]!.resources.map((a) => Cla.deserialize(Buffer.from((a as { value: Buffer }).value)).cluster_name).sort();
    expect(names).toEqual(['alpha', 'beta']);
  });

  it('pushes in ADS order CDS → EDS → LDS → RDS when every type changes at once', async () => {
    const c = client();
    await subscribeAll(c);
    const before = c.responses.length;
    const [alpha, beta] = config().config.services;
    const changed = {
      ...alpha!,
      listener: { ...alpha!.listener, port: 20101 }, // LDS
      route: { ...alpha!.route, timeoutMs: 60_000 }, // RDS
      modal: { ...alpha!.modal!, caBundle: '/etc/other-ca.pem', staticShare: 0.6 }, // CDS and EDS
    };
    app.publisher.setServices([changed, beta!]);
    await c.waitForResponses(before + 4);
    expect(c.responses.slice(before).map((x) => x.type_url)).toEqual([TypeUrl.Cluster, TypeUrl.Endpoint, TypeUrl.Listener, TypeUrl.Route]);
  });

  it('after a NACK, a restarted Envoy (same node id, nothing held) gets every resource it subscribes to', async () => {
    const c = client();
    c.send({ node, type_url: TypeUrl.Cluster });
    const [cds] = await c.waitForResponses(1, TypeUrl.Cluster);
    c.send({ type_url: TypeUrl.Cluster, version_info: '', response_nonce: cds!.nonce, error_detail: { code: 3, message: 'rejected' } });
    await expect.poll(() => app.syncStatus.node('test-node').find((r) => r.typeUrl === TypeUrl.Cluster)?.status).toBe('ERROR');
    c.close();
    const fresh = client();
    fresh.send({ node, type_url: TypeUrl.Cluster });
    const [again] = await fresh.waitForResponses(1, TypeUrl.Cluster);
    expect(again!.resources).toHaveLength(2);
  });

  it('a reconnect presenting the current version of a wildcard type gets nothing for it and counts as in sync; EDS is always answered', async () => {
    const c = client();
    await subscribeAll(c);
    const cds = c.of(TypeUrl.Cluster)[0]!;
    const eds = c.of(TypeUrl.Endpoint)[0]!;
    c.close();
    const again = client();
    again.send({ node, type_url: TypeUrl.Cluster, version_info: cds.version_info });
    again.send({ node, type_url: TypeUrl.Endpoint, version_info: eds.version_info, resource_names: ['alpha', 'beta'] });
    const [answered] = await again.waitForResponses(1, TypeUrl.Endpoint);
    expect(answered!.resources).toHaveLength(2);
    expect(await again.settle(200)).toBe(1);
    expect(again.of(TypeUrl.Cluster)).toHaveLength(0);
    await expect.poll(() => app.syncStatus.node('test-node').find((r) => r.typeUrl === TypeUrl.Cluster)?.status).toBe('SYNCED');
    // An older version is answered in full.
    const older = client();
    older.send({ node: { ...node, id: 'other-node' }, type_url: TypeUrl.Cluster, version_info: 'some-older-version' });
    const [full] = await older.waitForResponses(1, TypeUrl.Cluster);
    expect(full!.resources).toHaveLength(2);
  });

  it('missing type_url gets INVALID_ARGUMENT naming the problem; other streams are undisturbed', async () => {
    const good = client();
    await subscribeAll(good);
    const bad = client();
    bad.send({ node, type_url: '' });
    const status = await bad.waitForStatus();
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toMatch(/type_url is required/);
    app.publisher.setPlan('alpha', planForShare(0.9));
    await good.waitForResponses(2, TypeUrl.Endpoint);
  });

  it('an unknown type URL and a missing node id are refused with a clear status', async () => {
    const a = client();
    a.send({ node, type_url: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret' });
    const sa = await a.waitForStatus();
    expect(sa.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(sa.details).toMatch(/unsupported type_url .*Secret/);
    const b = client();
    b.send({ type_url: TypeUrl.Cluster });
    const sb = await b.waitForStatus();
    expect(sb.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(sb.details).toMatch(/node\.id/);
  });

  it('a stale nonce gets no response', async () => {
    const c = client();
    await subscribeAll(c);
    const n = c.responses.length;
    c.send({ type_url: TypeUrl.Cluster, version_info: 'x', response_nonce: 'not-a-nonce-we-sent' });
    expect(await c.settle(200)).toBe(n);
    expect(app.syncStatus.node('test-node').find((r) => r.typeUrl === TypeUrl.Cluster)?.staleNonces).toBe(1);
  });
});

/** A stand-in for a grpc duplex call whose transport is slow: write() reports backpressure. */
class SlowCall extends EventEmitter {
  written: Array<{ type_url?: string; version_info?: string }> = [];
  blocked = false;
  write(msg: { type_url?: string; version_info?: string }): boolean {
    this.written.push(msg);
    return !this.blocked;
  }
  end(): void {}
}

describe('ADS server backpressure', () => {
  it('a slow stream gets the latest state per type, never a queue of every version', async () => {
    const app = await startSpillway(config().config);
    try {
      const ads = new AdsServer({ cache: app.cache, events: new XdsEvents(), clock: systemClock, protos: loadProtos().protos });
      const call = new SlowCall();
      ads.streamAggregatedResources(call as never);
      call.emit('data', {
        node,
        type_url: TypeUrl.Endpoint,
        version_info: '',
        response_nonce: '',
        resource_names: ['alpha'],
        error_detail: null,
      });
      expect(call.written).toHaveLength(1);
      call.blocked = true;
      // The first push fills the buffer; the next 49 must coalesce.
      for (let i = 1; i <= 50; i++) app.publisher.setPlan('alpha', planForShare(i / 100));
      expect(call.written).toHaveLength(2);
      call.blocked = false;
      call.emit('drain');
      expect(call.written).toHaveLength(3);
      expect(call.written.at(-1)!.version_info).toBe(app.cache.current()!.types[TypeUrl.Endpoint].version);
    } finally {
      await app.stop();
    }
  });
});

describe('ADS server fan-out over several event-loop turns', () => {
  it('a push wider than one turn reaches every stream, each written from the newest snapshot', async () => {
    const app = await startSpillway(config().config);
    try {
      const ads = new AdsServer({
        cache: app.cache,
        events: new XdsEvents(),
        clock: systemClock,
        pushBatch: 2,
        protos: loadProtos().protos,
      });
      const calls = Array.from({ length: 5 }, () => new SlowCall());
      for (const call of calls) {
        ads.streamAggregatedResources(call as never);
        call.emit('data', {
          node,
          type_url: TypeUrl.Endpoint,
          version_info: '',
          response_nonce: '',
          resource_names: ['alpha'],
          error_detail: null,
        });
      }
      expect(calls.map((c) => c.written.length)).toEqual([1, 1, 1, 1, 1]);
      app.publisher.setPlan('alpha', planForShare(0.31));
      // Two streams in this turn, the other three wait for later turns.
      expect(calls.map((c) => c.written.length)).toEqual([2, 2, 1, 1, 1]);
      // A newer publish before their turn: they get only the newest version, never the one in between.
      app.publisher.setPlan('alpha', planForShare(0.47));
      for (let turn = 0; turn < 5; turn++) await new Promise((r) => setImmediate(r));
      const newest = app.cache.current()!.types[TypeUrl.Endpoint].version;
      expect(calls.map((c) => c.written.length)).toEqual([3, 3, 2, 2, 2]);
      for (const c of calls) expect(c.written.at(-1)!.version_info).toBe(newest);
    } finally {
      await app.stop();
    }
  });
});
