import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { loadProtos } from '../../src/protos/load-protos.js';
import { buildDesiredState, type DesiredStateInputs } from '../../src/resources/desired-state.js';
import { planForShare } from '../../src/model/traffic-plan.js';
import { validateDesiredState } from '../../src/resources/validate.js';
import { makeSnapshot, SnapshotEncoder } from '../../src/xds/snapshot.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import { buildLoadAssignment } from '../../src/resources/endpoints.js';
import { CordonState, type Cordons } from '../../src/model/cordons.js';

const { protos } = loadProtos();
const service = loadConfig().services[0]!;
const inputs = (share: number, extra: Partial<DesiredStateInputs> = {}): DesiredStateInputs => ({
  services: [service],
  planOf: () => planForShare(share),
  modalIps: new Map(),
  cordons: new Map(),
  ...extra,
});

describe('resource builders', () => {
  it('CDS: EDS over ADS, locality-weighted LB, panic mode off; TLS (h2 by ALPN) by default, plaintext for endpoints tagged in-house', () => {
    const [cluster] = buildDesiredState(inputs(0), protos)[TypeUrl.Cluster];
    expect(cluster!.type).toBe('EDS');
    expect(cluster!.eds_cluster_config?.eds_config?.ads).toEqual({});
    expect(cluster!.common_lb_config?.locality_weighted_lb_config).toEqual({});
    expect(cluster!.common_lb_config?.healthy_panic_threshold).toEqual({ value: 0 });
    const match = cluster!.transport_socket_matches?.[0];
    expect(match?.match).toEqual({ fields: { tls: { stringValue: 'none' } } });
    expect(match?.transport_socket?.name).toBe('envoy.transport_sockets.raw_buffer');
    const any = cluster!.transport_socket?.typed_config;
    const tls = protos.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.deserialize(
      Buffer.from((any as { value: Buffer }).value),
    );
    expect(tls.sni).toBe('spillway-demo--echo.modal.run');
    expect(tls.common_tls_context?.alpn_protocols).toEqual(['h2', 'http/1.1']);
    expect(tls.common_tls_context?.validation_context?.trusted_ca?.filename).toBe('.tmp/demo-pki/ca.pem');
    expect(tls.common_tls_context?.validation_context?.match_typed_subject_alt_names?.[0]?.matcher?.exact).toBe(
      'spillway-demo--echo.modal.run',
    );
    const opts = cluster!.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
    const http = protos.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.deserialize(Buffer.from((opts as { value: Buffer }).value));
    expect(http.auto_config?.http2_protocol_options).toBeTruthy();
    // One HttpProtocolOptions carries both the protocol and the 429 retry's attempt stamp.
    expect(http.http_filters.map((f) => f.name)).toEqual(['envoy.filters.http.header_mutation', 'envoy.filters.http.upstream_codec']);

    // Upgrades go to an HTTP/1.1-only twin on the same assignment (Modal has no WebSocket over HTTP/2).
    const clusters = buildDesiredState(inputs(0), protos)[TypeUrl.Cluster];
    const twin = clusters.find((c) => c.name === 'echo:upgrade');
    expect(twin?.eds_cluster_config?.service_name).toBe('echo');
    const twinTls = protos.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.deserialize(
      Buffer.from((twin!.transport_socket?.typed_config as { value: Buffer }).value),
    );
    expect(twinTls.common_tls_context?.alpn_protocols).toEqual(['http/1.1']);
    const [rc] = buildDesiredState(inputs(0), protos)[TypeUrl.Route];
    const routes = rc!.virtual_hosts![0]!.routes!;
    expect(routes.map((r) => r.route?.cluster)).toEqual(['echo:upgrade', 'echo']);
    expect(routes[0]!.match?.headers?.[0]?.name).toBe('upgrade');

    const h1 = { ...service, modal: { ...service.modal!, http2: false, retry429InHouse: false } };
    const h1Clusters = buildDesiredState({ ...inputs(0), services: [h1] }, protos)[TypeUrl.Cluster];
    expect(h1Clusters.map((c) => c.name)).toEqual(['echo']);
    const [plain] = h1Clusters;
    expect(plain!.typed_extension_protocol_options).toBeUndefined();
    const h1tls = protos.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.deserialize(
      Buffer.from((plain!.transport_socket?.typed_config as { value: Buffer }).value),
    );
    expect(h1tls.common_tls_context?.alpn_protocols).toEqual(['http/1.1']);
  });

  it('CDS: health checks, outlier detection and slow start from in_house; none by default', () => {
    const [bare] = buildDesiredState(inputs(0), protos)[TypeUrl.Cluster];
    expect(bare!.health_checks).toBeUndefined();
    expect(bare!.outlier_detection).toBeUndefined();
    const svc = {
      ...service,
      inHouseHealth: {
        healthCheck: { path: '/healthz', intervalMs: 1000, timeoutMs: 500, healthyThreshold: 2, unhealthyThreshold: 3 },
        outlierDetection: {
          consecutive5xx: 5,
          consecutiveGatewayFailure: 2,
          intervalMs: 1000,
          baseEjectionTimeMs: 5000,
          maxEjectionPercent: 50,
        },
        slowStartMs: 20_000,
      },
    };
    const [cluster] = buildDesiredState({ ...inputs(0), services: [svc] }, protos)[TypeUrl.Cluster];
    expect(cluster!.health_checks?.[0]).toMatchObject({
      interval: { seconds: '1', nanos: 0 },
      timeout: { seconds: '0', nanos: 500_000_000 },
      healthy_threshold: { value: 2 },
      unhealthy_threshold: { value: 3 },
      http_health_check: { path: '/healthz' },
    });
    expect(cluster!.outlier_detection).toMatchObject({ consecutive_gateway_failure: { value: 2 }, max_ejection_percent: { value: 50 } });
    expect(cluster!.round_robin_lb_config?.slow_start_config?.slow_start_window).toEqual({ seconds: '20', nanos: 0 });
  });

  it('EDS: endpoints are weighted by max_rps when every one has it, so Envoy splits the fleet as the model counts it', () => {
    const ep = (port: number, capacity: number, maxRps?: number) => ({
      address: '10.0.0.1',
      port,
      capacity,
      ...(maxRps ? { maxRps } : {}),
    });
    const weightsOf = (inHouse: ReturnType<typeof ep>[], cordons: Cordons = new Map()) => {
      const cla = buildLoadAssignment({ service, plan: planForShare(0), modalAddresses: [], cordons, inHouse });
      return cla.endpoints![0]!.lb_endpoints!.map((e) => e.load_balancing_weight?.value);
    };
    // Equal slots, rates 30 : 10 : 0.5 — the split follows the rates, the slowest still gets its share.
    expect(weightsOf([ep(1, 4, 30), ep(2, 4, 10), ep(3, 4, 0.5)])).toEqual([60_000, 20_000, 1000]);
    // Rates five orders apart keep their ratio within 0.05 %, and the sum stays within uint32.
    const wide = weightsOf([ep(1, 4, 10_000), ep(2, 4, 4), ep(3, 4, 0.4)]) as number[];
    expect(wide[1]! / wide[2]!).toBeCloseTo(10, 2);
    expect(wide[0]! / wide[2]!).toBeCloseTo(25_000, -2);
    expect(wide.reduce((a, b) => a + b, 0)).toBeLessThan(2 ** 32);
    // A cordoned host without a rate does not change the rule (the model counts open hosts only).
    expect(weightsOf([ep(1, 4, 30), ep(2, 4, 10), ep(3, 4)], new Map([['10.0.0.1:3', CordonState.Draining]]))).toEqual([3000, 1000, 1]);
    // One open endpoint without a rate: the model counts slots, and so does Envoy.
    expect(weightsOf([ep(1, 4, 30), ep(2, 8)])).toEqual([4, 8]);
  });

  it('EDS: share 0 omits the Modal locality (never a weight of 0); a share adds it with hostname and TLS tag', () => {
    const [none] = buildDesiredState(inputs(0), protos)[TypeUrl.Endpoint];
    expect(none!.endpoints).toHaveLength(1);
    expect(none!.endpoints![0]!.locality).toEqual({ region: 'spillway', zone: 'in-house' });
    expect(none!.endpoints![0]!.lb_endpoints!.map((e) => e.load_balancing_weight?.value)).toEqual([8, 8, 8]);

    const [some] = buildDesiredState(inputs(0.25), protos)[TypeUrl.Endpoint];
    expect(some!.endpoints!.map((l) => [l.locality?.zone, l.load_balancing_weight?.value])).toEqual([
      ['in-house', 750],
      ['modal', 250],
    ]);
    const modal = some!.endpoints![1]!.lb_endpoints![0]!;
    expect(modal.endpoint?.hostname).toBe('spillway-demo--echo.modal.run');
    expect(modal.endpoint?.address?.socket_address).toEqual({ address: '127.0.0.1', port_value: 18443 });
    // Modal takes the cluster's default TLS socket and is never actively health-checked (that would wake it).
    expect(modal.endpoint?.health_check_config?.disable_active_health_check).toBe(true);
    expect(some!.endpoints![0]!.lb_endpoints![0]!.metadata?.filter_metadata?.['envoy.transport_socket_match']).toEqual({
      fields: { tls: { stringValue: 'none' } },
    });
  });

  it('EDS: every Modal address is an endpoint; discovered endpoints join the static ones; an empty fleet omits the locality', () => {
    const svc = { ...service, modal: { ...service.modal!, connectAddress: undefined } };
    const [cla] = buildDesiredState(
      {
        ...inputs(0.3),
        services: [svc],
        modalIps: new Map([['echo', ['203.0.113.9', '2001:db8::7', '203.0.113.7']]]),
        inHouseOf: () => [...service.inHouse, { address: '2001:db8::20', port: 8080, capacity: 4 }],
      },
      protos,
    )[TypeUrl.Endpoint];
    expect(cla!.endpoints![1]!.lb_endpoints!.map((e) => e.endpoint?.address?.socket_address?.address)).toEqual([
      '2001:db8::7',
      '203.0.113.7',
      '203.0.113.9',
    ]);
    expect(cla!.endpoints![0]!.lb_endpoints).toHaveLength(4);
    const [empty] = buildDesiredState({ ...inputs(0.3), inHouseOf: () => [] }, protos)[TypeUrl.Endpoint];
    expect(empty!.endpoints!.map((l) => l.locality?.zone)).toEqual(['modal']);
  });

  it('EDS: locality weights are corrected for the in-house healthy fraction, so Envoy runs the planned share', () => {
    const [healthy] = buildDesiredState(inputs(0.3), protos)[TypeUrl.Endpoint];
    expect(healthy!.endpoints!.map((l) => l.load_balancing_weight?.value)).toEqual([700, 300]);
    // One of three hosts down: Envoy scales in-house by min(1, 1.4 × 1/3) = 0.467.
    const [third] = buildDesiredState({ ...inputs(0.3), healthyFractionOf: () => 1 / 3 }, protos)[TypeUrl.Endpoint];
    const [wIn, wM] = third!.endpoints!.map((l) => l.load_balancing_weight?.value ?? 0);
    expect(wM).toBe(300);
    expect(wM! / (wM! + wIn! * 1.4 * (1 / 3))).toBeCloseTo(0.3, 3);
  });

  it('EDS: cordons become health status; shedding becomes drop_overloads in parts per million', () => {
    const d = buildDesiredState(
      {
        ...inputs(0),
        planOf: () => ({ inHouseWeight: 1000, modalWeight: 0, modalHealth: 'HEALTHY', dropPercent: 12.5 }),
        cordons: new Map([['echo', new Map([['127.0.0.1:18102', 'DRAINING' as const]])]]),
      },
      protos,
    );
    const cla = d[TypeUrl.Endpoint][0]!;
    expect(cla.endpoints![0]!.lb_endpoints!.map((e) => e.health_status)).toEqual(['HEALTHY', 'DRAINING', 'HEALTHY']);
    expect(cla.policy?.drop_overloads).toEqual([
      { category: 'spillway_shed', drop_percentage: { numerator: 125_000, denominator: 'MILLION' } },
    ]);
  });

  it('a Modal hostname not yet resolved leaves the Modal locality out rather than publishing a bad address', () => {
    const svc = { ...service, modal: { ...service.modal!, connectAddress: undefined } };
    const [cla] = buildDesiredState({ ...inputs(0.5), services: [svc] }, protos)[TypeUrl.Endpoint];
    expect(cla!.endpoints).toHaveLength(1);
    const [resolved] = buildDesiredState({ ...inputs(0.5), services: [svc], modalIps: new Map([['echo', ['203.0.113.7']]]) }, protos)[
      TypeUrl.Endpoint
    ];
    expect(resolved!.endpoints![1]!.lb_endpoints![0]!.endpoint?.address?.socket_address?.address).toBe('203.0.113.7');
  });

  it("RDS: auto_host_rewrite, no route timeout by default, retry policy from config plus Modal's 429 only", () => {
    const [rc] = buildDesiredState(inputs(0), protos)[TypeUrl.Route];
    const route = rc!.virtual_hosts![0]!.routes!.at(-1)!.route!;
    expect(route.cluster).toBe('echo');
    expect(route.auto_host_rewrite).toEqual({ value: true });
    expect(route.timeout).toEqual({ seconds: '0', nanos: 0 });
    expect(route.retry_policy?.retry_on).toBe('connect-failure,refused-stream,reset-before-request,retriable-headers');
    expect(route.retry_policy?.retriable_headers).toEqual([
      { name: 'x-spillway-attempt', string_match: { exact: '429@spillway-demo--echo.modal.run' } },
    ]);
    expect(rc!.response_headers_to_remove).toEqual(['x-spillway-attempt']);
  });

  it("EDS: in-house endpoints carry a hostname, so a retry from Modal never keeps Modal's Host", () => {
    const [cla] = buildDesiredState(inputs(0), protos)[TypeUrl.Endpoint];
    expect(cla!.endpoints![0]!.lb_endpoints!.map((e) => e.endpoint?.hostname)).toEqual([
      '127.0.0.1:18101',
      '127.0.0.1:18102',
      '127.0.0.1:18103',
    ]);
    const named = { ...service, inHouseHost: 'api.internal' };
    const [withHost] = buildDesiredState({ ...inputs(0), services: [named] }, protos)[TypeUrl.Endpoint];
    expect(new Set(withHost!.endpoints![0]!.lb_endpoints!.map((e) => e.endpoint?.hostname))).toEqual(new Set(['api.internal']));
  });

  it('is deterministic: identical inputs give identical versions; any change gives a new one', () => {
    const a = makeSnapshot(buildDesiredState(inputs(0.3), protos), protos);
    const b = makeSnapshot(buildDesiredState(inputs(0.3), protos), protos);
    const c = makeSnapshot(buildDesiredState(inputs(0.31), protos), protos);
    for (const t of Object.values(TypeUrl)) expect(a.types[t].version).toBe(b.types[t].version);
    expect(c.types[TypeUrl.Endpoint].version).not.toBe(a.types[TypeUrl.Endpoint].version);
    expect(c.types[TypeUrl.Cluster].version).toBe(a.types[TypeUrl.Cluster].version);
    // Service order in the config does not matter.
    const other = { ...service, name: 'zeta', listener: { host: '127.0.0.1', port: 10001 } };
    const x = makeSnapshot(buildDesiredState({ ...inputs(0), services: [service, other] }, protos), protos);
    const y = makeSnapshot(buildDesiredState({ ...inputs(0), services: [other, service] }, protos), protos);
    expect(x.types[TypeUrl.Listener].version).toBe(y.types[TypeUrl.Listener].version);
  });

  it('publishing one change after another re-encodes only what changed, with the bytes a fresh encode gives', () => {
    const other = { ...service, name: 'zeta', listener: { host: '127.0.0.1', port: 10001 } };
    const two = (share: number): DesiredStateInputs => ({
      ...inputs(share),
      services: [service, other],
      planOf: (s) => planForShare(s.name === 'zeta' ? 0.2 : share),
    });
    const encoder = new SnapshotEncoder(protos);
    const first = encoder.encode(buildDesiredState(two(0.3), protos));
    const second = encoder.encode(buildDesiredState(two(0.4), protos));
    for (const [t, snap] of [first, second].map((s, i) => [i, s] as const)) {
      const fresh = makeSnapshot(buildDesiredState(two(t === 0 ? 0.3 : 0.4), protos), protos);
      for (const type of Object.values(TypeUrl)) {
        expect(snap.types[type].version).toBe(fresh.types[type].version);
        for (const [name, r] of fresh.types[type].resources) expect(snap.types[type].resources.get(name)?.value).toEqual(r.value);
      }
    }
    // Unchanged types keep their snapshot; the unchanged CLA keeps its bytes; the changed one is new.
    for (const type of [TypeUrl.Cluster, TypeUrl.Listener, TypeUrl.Route]) expect(second.types[type]).toBe(first.types[type]);
    const [a, b] = [first, second].map((s) => s.types[TypeUrl.Endpoint].resources);
    expect(b!.get('zeta')).toBe(a!.get('zeta'));
    expect(b!.get('echo')!.version).not.toBe(a!.get('echo')!.version);
    // The same content built again from new objects: nothing re-encoded, nothing new to push.
    const third = encoder.encode(buildDesiredState(two(0.4), protos));
    for (const type of Object.values(TypeUrl)) expect(third.types[type]).toBe(second.types[type]);
  });

  it('validation refuses zero weights, dangling references, duplicate localities and uint32 overflow', () => {
    const good = buildDesiredState(inputs(0.5), protos);
    expect(validateDesiredState(good, protos)).toEqual([]);
    const cla = structuredClone(good[TypeUrl.Endpoint][0]!);
    cla.endpoints![0]!.load_balancing_weight = { value: 0 };
    cla.endpoints![1]!.locality = { region: 'spillway', zone: 'in-house' };
    const overflow = structuredClone(good[TypeUrl.Endpoint][0]!);
    overflow.cluster_name = 'other';
    overflow.endpoints![0]!.load_balancing_weight = { value: 0xffff_ffff };
    const route = structuredClone(good[TypeUrl.Route][0]!);
    route.virtual_hosts![0]!.routes![0]!.route!.cluster = 'missing';
    const errors = validateDesiredState({ ...good, [TypeUrl.Endpoint]: [cla, overflow], [TypeUrl.Route]: [route] }, protos);
    expect(errors).toEqual(
      expect.arrayContaining([
        'EDS echo: endpoints[0] locality weight must be an integer ≥ 1, got 0',
        'EDS echo: endpoints[1] duplicate locality 0/spillway/in-house/',
        'EDS other: locality weights at priority 0 sum to 4294967795, over uint32',
        'RDS echo: route references cluster "missing" that does not exist',
      ]),
    );
    const noRoutes = validateDesiredState({ ...good, [TypeUrl.Route]: [] }, protos);
    expect(noRoutes).toContain('LDS echo: references route configuration "echo" that does not exist');
  });
});
