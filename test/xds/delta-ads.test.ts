import { beforeEach, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import type { SpillwayApp } from '../../src/app/spillway-app.js';
import type { SpillwayConfig } from '../../src/config/config-types.js';
import type { DeltaDiscoveryResponse__Output } from '../../src/generated/envoy/service/discovery/v3/DeltaDiscoveryResponse.js';
import { planForShare } from '../../src/model/traffic-plan.js';
import { ADS_ORDER, TypeUrl } from '../../src/xds/type-urls.js';
import { DeltaAdsTestClient } from '../support/ads-client.js';
import { protocolTestConfig, useProtocolTestApp } from './fixtures.js';

const config = (): { config: SpillwayConfig } => ({ config: protocolTestConfig() });
const node = { id: 'delta-node', cluster: 'test' };

describe('ADS server (delta) over gRPC', () => {
  const harness = useProtocolTestApp((address) => new DeltaAdsTestClient(address));
  const client = harness.client;
  let app: SpillwayApp;
  beforeEach(() => {
    app = harness.app();
  });

  const cached = (t: TypeUrl, name: string): string | undefined => app.cache.current()!.types[t].resources.get(name)?.version;
  const names = (r: DeltaDiscoveryResponse__Output): string[] => r.resources.map((x) => x.name);

  /** Subscribes like a delta Envoy (legacy wildcard for CDS/LDS, names for EDS/RDS) and ACKs each first response. */
  async function subscribeAll(c: DeltaAdsTestClient): Promise<void> {
    c.send({ node, type_url: TypeUrl.Cluster });
    const [cds] = await c.waitForResponses(1, TypeUrl.Cluster);
    c.send({ type_url: TypeUrl.Cluster, response_nonce: cds!.nonce });
    c.send({ type_url: TypeUrl.Endpoint, resource_names_subscribe: ['alpha', 'beta'] });
    const [eds] = await c.waitForResponses(1, TypeUrl.Endpoint);
    c.send({ type_url: TypeUrl.Endpoint, response_nonce: eds!.nonce });
    c.send({ type_url: TypeUrl.Listener });
    const [lds] = await c.waitForResponses(1, TypeUrl.Listener);
    c.send({ type_url: TypeUrl.Listener, response_nonce: lds!.nonce });
    c.send({ type_url: TypeUrl.Route, resource_names_subscribe: ['alpha', 'beta'] });
    const [rds] = await c.waitForResponses(1, TypeUrl.Route);
    c.send({ type_url: TypeUrl.Route, response_nonce: rds!.nonce });
    await c.settle(100);
  }

  it('serves every type with per-resource versions and a nonce on every response', async () => {
    const c = client();
    await subscribeAll(c);
    expect(c.responses.map((r) => r.type_url)).toEqual([TypeUrl.Cluster, TypeUrl.Endpoint, TypeUrl.Listener, TypeUrl.Route]);
    for (const r of c.responses) {
      const t = r.type_url as TypeUrl;
      expect(r.nonce).not.toBe('');
      expect(names(r).sort()).toEqual(['alpha', 'beta']);
      for (const res of r.resources) {
        expect(res.version).not.toBe('');
        expect(res.version).toBe(cached(t, res.name));
        expect(res.resource?.type_url).toBe(t);
      }
      expect(r.removed_resources).toEqual([]);
    }
    expect(new Set(c.responses.map((r) => r.nonce)).size).toBe(4);
    // Every type was ACKed at the version the cache holds.
    await expect.poll(() => app.syncStatus.node('delta-node').map((row) => row.status)).toEqual(ADS_ORDER.map(() => 'SYNCED'));
  });

  it('a weight change sends only the changed CLA; an identical state sends nothing', async () => {
    const c = client();
    await subscribeAll(c);
    const before = c.responses.length;
    expect(app.publisher.setPlan('alpha', planForShare(0.5)).ok).toBe(true);
    const eds = await c.waitForResponses(2, TypeUrl.Endpoint);
    expect(await c.settle(200)).toBe(before + 1);
    const update = eds[1]!;
    expect(names(update)).toEqual(['alpha']);
    expect(update.resources[0]!.version).toBe(cached(TypeUrl.Endpoint, 'alpha'));
    expect(update.resources[0]!.version).not.toBe(eds[0]!.resources.find((r) => r.name === 'alpha')!.version);
    expect(update.nonce).not.toBe('');
    expect(update.removed_resources).toEqual([]);
    c.send({ type_url: TypeUrl.Endpoint, response_nonce: update.nonce });
    expect(app.publisher.setPlan('alpha', planForShare(0.5)).changed.size).toBe(0);
    expect(await c.settle(200)).toBe(before + 1);
    await expect.poll(() => app.syncStatus.node('delta-node').find((r) => r.typeUrl === TypeUrl.Endpoint)?.status).toBe('SYNCED');
  });

  it('removing a service removes its cluster and listener by name, and says nothing for EDS/RDS', async () => {
    const c = client();
    await subscribeAll(c);
    const before = c.responses.length;
    const [alpha] = config().config.services;
    expect(app.publisher.setServices([alpha!]).ok).toBe(true);
    await c.waitForResponses(before + 2);
    expect(await c.settle(200)).toBe(before + 2);
    const [cds, lds] = c.responses.slice(before);
    expect(cds!.type_url).toBe(TypeUrl.Cluster);
    expect(cds!.resources).toEqual([]);
    expect(cds!.removed_resources).toEqual(['beta']);
    expect(lds!.type_url).toBe(TypeUrl.Listener);
    expect(lds!.removed_resources).toEqual(['beta']);
    c.send({ type_url: TypeUrl.Cluster, response_nonce: cds!.nonce });
    c.send({ type_url: TypeUrl.Listener, response_nonce: lds!.nonce });
    // EDS and RDS changed versions without anything to send this client: it still runs what the cache holds.
    await expect
      .poll(() => app.syncStatus.node('delta-node').map((row) => `${row.type}:${row.status}`))
      .toEqual(['CDS:SYNCED', 'EDS:SYNCED', 'LDS:SYNCED', 'RDS:SYNCED']);
  });

  it('a reconnect with initial_resource_versions gets only what it lacks, and removals for clusters that are gone', async () => {
    const c = client();
    c.send({
      node,
      type_url: TypeUrl.Cluster,
      initial_resource_versions: { alpha: cached(TypeUrl.Cluster, 'alpha')!, beta: 'an-old-version', gamma: 'x' },
    });
    const [cds] = await c.waitForResponses(1, TypeUrl.Cluster);
    expect(names(cds!)).toEqual(['beta']);
    expect(cds!.removed_resources).toEqual(['gamma']);
    // EDS with everything current: nothing to send.
    c.send({
      type_url: TypeUrl.Endpoint,
      resource_names_subscribe: ['alpha', 'beta'],
      initial_resource_versions: { alpha: cached(TypeUrl.Endpoint, 'alpha')!, beta: cached(TypeUrl.Endpoint, 'beta')! },
    });
    expect(await c.settle(200)).toBe(1);
    // Subscribing again to a name it reportedly has is still answered.
    c.send({ type_url: TypeUrl.Endpoint, resource_names_subscribe: ['beta'] });
    const [eds] = await c.waitForResponses(1, TypeUrl.Endpoint);
    expect(names(eds!)).toEqual(['beta']);
  });

  it('a NACK is recorded as ERROR and the rejected content is not resent', async () => {
    const c = client();
    await subscribeAll(c);
    app.publisher.setPlan('alpha', planForShare(0.7));
    const [, bad] = await c.waitForResponses(2, TypeUrl.Endpoint);
    c.send({ type_url: TypeUrl.Endpoint, response_nonce: bad!.nonce, error_detail: { code: 3, message: 'rejected CLA alpha' } });
    await expect.poll(() => app.syncStatus.node('delta-node').find((r) => r.typeUrl === TypeUrl.Endpoint)?.status).toBe('ERROR');
    const n = c.responses.length;
    expect(await c.settle(200)).toBe(n);
    const row = app.syncStatus.node('delta-node').find((r) => r.typeUrl === TypeUrl.Endpoint);
    expect(row?.lastNack?.detail).toBe('rejected CLA alpha');
    // New content goes out.
    app.publisher.setPlan('alpha', planForShare(0.1));
    const eds = await c.waitForResponses(3, TypeUrl.Endpoint);
    expect(names(eds[2]!)).toEqual(['alpha']);
  });

  it('after a NACK, a restarted Envoy (same node id, nothing held) gets every resource it subscribes to', async () => {
    const c = client();
    c.send({ node, type_url: TypeUrl.Cluster });
    const [cds] = await c.waitForResponses(1, TypeUrl.Cluster);
    c.send({ type_url: TypeUrl.Cluster, response_nonce: cds!.nonce, error_detail: { code: 3, message: 'rejected cluster alpha' } });
    await expect.poll(() => app.syncStatus.node('delta-node').find((r) => r.typeUrl === TypeUrl.Cluster)?.status).toBe('ERROR');
    c.close();

    // The operator fixes the cause and restarts Envoy: a fresh stream, the same node id, no initial versions.
    const fresh = client();
    fresh.send({ node, type_url: TypeUrl.Cluster });
    const [again] = await fresh.waitForResponses(1, TypeUrl.Cluster);
    expect(names(again!).sort()).toEqual(['alpha', 'beta']);
  });

  it('a reconnect holding only its pre-NACK versions is sent the current content again; one presenting the current versions gets nothing', async () => {
    const c = client();
    await subscribeAll(c);
    const accepted = c.of(TypeUrl.Endpoint)[0]!.resources.map((r) => [r.name, r.version] as const);
    app.publisher.setPlan('alpha', planForShare(0.7));
    const [, bad] = await c.waitForResponses(2, TypeUrl.Endpoint);
    c.send({ type_url: TypeUrl.Endpoint, response_nonce: bad!.nonce, error_detail: { code: 3, message: 'rejected CLA alpha' } });
    await expect.poll(() => app.syncStatus.node('delta-node').find((r) => r.typeUrl === TypeUrl.Endpoint)?.status).toBe('ERROR');
    // On its own stream the rejected content is not resent.
    const sent = c.responses.length;
    expect(await c.settle(300)).toBe(sent);
    c.close();

    // Reconnecting with what it accepted before the NACK: it does not hold the current alpha, so it gets it.
    const again = client();
    again.send({
      node,
      type_url: TypeUrl.Endpoint,
      resource_names_subscribe: ['alpha', 'beta'],
      initial_resource_versions: Object.fromEntries(accepted),
    });
    const [resent] = await again.waitForResponses(1, TypeUrl.Endpoint);
    expect(names(resent!)).toEqual(['alpha']);
    again.close();

    // Presenting exactly the current versions proves it holds them: nothing is sent, and it counts as in sync.
    const current = Object.fromEntries(['alpha', 'beta'].map((n) => [n, cached(TypeUrl.Endpoint, n)!]));
    const holding = client();
    holding.send({ node, type_url: TypeUrl.Endpoint, resource_names_subscribe: ['alpha', 'beta'], initial_resource_versions: current });
    expect(await holding.settle(300)).toBe(0);
    await expect.poll(() => app.syncStatus.node('delta-node').find((r) => r.typeUrl === TypeUrl.Endpoint)?.status).toBe('SYNCED');
  });

  it('missing type_url gets INVALID_ARGUMENT naming the problem; other streams are undisturbed', async () => {
    const good = client();
    await subscribeAll(good);
    const bad = client();
    bad.send({ node: { id: 'bad-node' }, resource_names_subscribe: ['alpha'] });
    const status = await bad.waitForStatus();
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toMatch(/type_url is required/);
    app.publisher.setPlan('alpha', planForShare(0.9));
    const eds = await good.waitForResponses(2, TypeUrl.Endpoint);
    expect(names(eds[1]!)).toEqual(['alpha']);
    expect(app.ads.connectedStreams()).toBe(1);
  });
});
