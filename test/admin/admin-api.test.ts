import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterLoadAssignment__Output } from '../../src/generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js';
import type { CordonResponse__Output } from '../../src/generated/spillway/admin/v1/CordonResponse.js';
import type { ServiceState__Output } from '../../src/generated/spillway/admin/v1/ServiceState.js';
import type { State__Output } from '../../src/generated/spillway/admin/v1/State.js';
import { loadProtos } from '../../src/protos/load-protos.js';
import { MODAL_LOCALITY } from '../../src/model/localities.js';
import { planForShare } from '../../src/model/traffic-plan.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import { AdsTestClient } from '../support/ads-client.js';
import { startAdminRig, unary, type AdminRig } from './harness.js';

const node = { id: 'admin-test-node', cluster: 'test' };

function publishedCla(rig: AdminRig, service: string): ClusterLoadAssignment__Output {
  const res = rig.app.cache.current()?.types[TypeUrl.Endpoint].resources.get(service);
  if (!res) throw new Error(`no CLA for ${service}`);
  return loadProtos().protos.envoy.config.endpoint.v3.ClusterLoadAssignment.deserialize(res.value) as ClusterLoadAssignment__Output;
}

/** Collects WatchWeights messages and lets a test wait for the n-th. */
function watch(rig: AdminRig, service = ''): { states: State__Output[]; next(n: number): Promise<State__Output>; cancel(): void } {
  const states: State__Output[] = [];
  const call = rig.admin.WatchWeights({ service });
  call.on('data', (s: State__Output) => states.push(s));
  call.on('error', () => {});
  return {
    states,
    async next(n) {
      const deadline = Date.now() + 3000;
      while (states.length < n) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for state #${n}; have ${states.length}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return states[n - 1]!;
    },
    cancel: () => call.cancel(),
  };
}

describe('admin gRPC API', () => {
  let rig: AdminRig;
  beforeEach(async () => {
    rig = await startAdminRig();
  });
  afterEach(async () => {
    await rig.close();
  });

  it('GetState shows weights, shares, mode and reason per service, and connected Envoys with sync status', async () => {
    const ads = new AdsTestClient(`127.0.0.1:${rig.app.xdsPort}`);
    try {
      ads.send({ node, type_url: TypeUrl.Cluster });
      const [cds] = await ads.waitForResponses(1, TypeUrl.Cluster);
      ads.send({ node, type_url: TypeUrl.Cluster, version_info: cds!.version_info, response_nonce: cds!.nonce });
      await new Promise((r) => setTimeout(r, 50));
      const { res } = await unary<object, State__Output>(rig.admin.GetState.bind(rig.admin), {});
      const echo = res!.services.find((s) => s.name === 'echo')!;
      expect(echo).toMatchObject({
        source: 'STATIC',
        service_mode: 'MODE_STATIC',
        weights: { in_house: 800, modal: 200, modal_endpoint_health: 'HEALTHY' },
        in_house_capacity: 8,
        controlled: false,
      });
      expect(echo.shares!.modal).toBeCloseTo(0.2);
      expect(echo.in_house.map((e) => e.endpoint)).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
      expect(res!.connected_streams).toBe(1);
      const envoy = res!.envoys.find((e) => e.node_id === node.id)!;
      expect(envoy.types.find((t) => t.xds_type === 'CDS')!.status).toBe('SYNCED');
      expect(envoy.types.find((t) => t.xds_type === 'EDS')!.status).toBe('NOT_SENT');
    } finally {
      ads.close();
    }
  });

  it('GetState for one service; an unknown one is INVALID_ARGUMENT naming the field', async () => {
    const one = await unary<object, State__Output>(rig.admin.GetState.bind(rig.admin), { service: 'plain' });
    expect(one.res!.services.map((s) => s.name)).toEqual(['plain']);
    const bad = await unary<object, State__Output>(rig.admin.GetState.bind(rig.admin), { service: 'nope' });
    expect(bad.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.err?.details).toMatch(/^service: "nope" is not a configured service/);
  });

  it('WatchWeights sends the full state first, then a new state after a publish and after an override', async () => {
    const w = watch(rig);
    try {
      const first = await w.next(1);
      expect(first.state_cause).toBe('CAUSE_INITIAL');
      expect(first.services.map((s) => s.name)).toEqual(['echo', 'plain']);

      rig.app.publisher.setPlan('echo', planForShare(0.5));
      const second = await w.next(2);
      expect(second.state_cause).toBe('CAUSE_PUBLISH');
      expect(second.services.find((s) => s.name === 'echo')!.weights).toMatchObject({ in_house: 500, modal: 500 });

      const o = await unary<object, ServiceState__Output>(rig.admin.Override.bind(rig.admin), {
        service: 'echo',
        share: 0.1,
        duration: { seconds: 600 },
        reason: 'incident 42',
      });
      expect(o.err).toBeUndefined();
      const third = await w.next(3);
      const echo = third.services.find((s) => s.name === 'echo')!;
      expect(echo).toMatchObject({ source: 'OVERRIDE', service_mode: 'MODE_OVERRIDE', weights: { modal: 100 } });
      expect(echo.override!.share).toBeCloseTo(0.1);
      expect(echo.reason).toMatch(/incident 42/);
    } finally {
      w.cancel();
    }
  });

  it('WatchWeights for one service sends only that service', async () => {
    const w = watch(rig, 'plain');
    try {
      expect((await w.next(1)).services.map((s) => s.name)).toEqual(['plain']);
      rig.app.publisher.setPlan('echo', planForShare(0.3));
      expect((await w.next(2)).services.map((s) => s.name)).toEqual(['plain']);
    } finally {
      w.cancel();
    }
  });

  it('Cordon publishes DRAINING, SoftCordon DEGRADED, Uncordon HEALTHY for that endpoint only', async () => {
    const health = (ep: string): string | undefined =>
      publishedCla(rig, 'echo')
        .endpoints.flatMap((l) => l.lb_endpoints)
        .find((e) => `${e.endpoint?.address?.socket_address?.address}:${e.endpoint?.address?.socket_address?.port_value}` === ep)
        ?.health_status;

    const c = await unary<object, CordonResponse__Output>(rig.admin.Cordon.bind(rig.admin), {
      service: 'echo',
      endpoint: '10.0.0.2:80',
      reason: 'kernel upgrade',
    });
    expect(c.res).toMatchObject({ service: 'echo', endpoint: '10.0.0.2:80', health: 'DRAINING' });
    expect(c.res!.eds_version).toBe(rig.app.cache.current()!.types[TypeUrl.Endpoint].version);
    expect(health('10.0.0.2:80')).toBe('DRAINING');
    expect(health('10.0.0.1:80')).toBe('HEALTHY');
    expect(rig.app.publisher.cordonsOf('echo').get('10.0.0.2:80')).toBe('DRAINING');

    await unary(rig.admin.SoftCordon.bind(rig.admin), { service: 'echo', endpoint: '10.0.0.2:80' });
    expect(health('10.0.0.2:80')).toBe('DEGRADED');

    const state = await unary<object, State__Output>(rig.admin.GetState.bind(rig.admin), { service: 'echo' });
    const echo = state.res!.services[0]!;
    expect(echo.in_house.find((e) => e.endpoint === '10.0.0.2:80')!.health).toBe('DEGRADED');
    expect(echo.in_house_capacity).toBe(4);

    await unary(rig.admin.Uncordon.bind(rig.admin), { service: 'echo', endpoint: '10.0.0.2:80' });
    expect(health('10.0.0.2:80')).toBe('HEALTHY');
    expect(rig.logs.some((l) => l['component'] === 'admin' && l['method'] === 'Cordon' && l['endpoint'] === '10.0.0.2:80')).toBe(true);
  });

  it('bad arguments are INVALID_ARGUMENT with a message naming the field', async () => {
    const cases: Array<[string, (req: object, md: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => unknown, object, RegExp]> = [
      [
        'Cordon',
        rig.admin.Cordon.bind(rig.admin),
        { service: 'echo', endpoint: '10.0.0.9:80' },
        /^endpoint: "10\.0\.0\.9:80" is not an in-house endpoint of service "echo"/,
      ],
      ['Cordon', rig.admin.Cordon.bind(rig.admin), { service: 'echo' }, /^endpoint: required/],
      [
        'Cordon',
        rig.admin.Cordon.bind(rig.admin),
        { service: 'nope', endpoint: '10.0.0.1:80' },
        /^service: "nope" is not a configured service/,
      ],
      [
        'Override',
        rig.admin.Override.bind(rig.admin),
        { service: 'echo', share: 1.5, duration: { seconds: 60 } },
        /^share: must be between 0 and 1$/,
      ],
      ['Override', rig.admin.Override.bind(rig.admin), { service: 'echo', share: 0.5 }, /^duration: required/],
      [
        'Override',
        rig.admin.Override.bind(rig.admin),
        { service: 'echo', share: 0.5, duration: { seconds: 25 * 3600 } },
        /^duration: must be at most 24h/,
      ],
      [
        'Override',
        rig.admin.Override.bind(rig.admin),
        { service: 'echo', share: 0.5, duration: { seconds: 0 } },
        /^duration: must be positive/,
      ],
      [
        'Override',
        rig.admin.Override.bind(rig.admin),
        { service: 'plain', share: 0.5, duration: { seconds: 60 } },
        /^share: service "plain" has no Modal endpoint/,
      ],
      ['ClearOverride', rig.admin.ClearOverride.bind(rig.admin), {}, /^service: required/],
    ];
    for (const [method, fn, req, msg] of cases) {
      const { err } = await unary(fn, req);
      expect(err?.code, `${method} ${JSON.stringify(req)}`).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err?.details, `${method} ${JSON.stringify(req)}`).toMatch(msg);
    }
    // Nothing was published by a refused call.
    expect(rig.app.publisher.cordonsOf('echo').size).toBe(0);
    expect(rig.app.overrides.get('echo')).toBeUndefined();
  });

  it('Override publishes its share, ClearOverride restores the previous plan', async () => {
    const o = await unary<object, ServiceState__Output>(rig.admin.Override.bind(rig.admin), {
      service: 'echo',
      share: 0.6,
      duration: { seconds: 60 },
    });
    expect(o.res).toMatchObject({ source: 'OVERRIDE', weights: { in_house: 400, modal: 600 } });
    const modalWeight = (): number | undefined =>
      publishedCla(rig, 'echo').endpoints.find((l) => l.locality?.zone === MODAL_LOCALITY.zone)?.load_balancing_weight?.value;
    expect(modalWeight()).toBe(600);
    const c = await unary<object, ServiceState__Output>(rig.admin.ClearOverride.bind(rig.admin), { service: 'echo' });
    expect(c.res).toMatchObject({ source: 'STATIC', weights: { in_house: 800, modal: 200 } });
    expect(c.res!.override).toBeNull();
    expect(modalWeight()).toBe(200);
  });
});
