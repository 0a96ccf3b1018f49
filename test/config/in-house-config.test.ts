import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { parseConfigText } from '../../src/config/parse-config.js';
import { changesNeedingRestart } from '../../src/config/reload-check.js';

const errorsOf = (yaml: string): string[] => {
  const r = parseConfigText(yaml);
  return r.ok ? [] : r.errors;
};

describe('in_house endpoint sources, health and discovery settings', () => {
  it('reads DNS, SRV and file sources next to static endpoints, with health checks, ejection and slow start', () => {
    const r = parseConfigText(`
discovery: { dns_servers: ["127.0.0.1:5353", "[::1]:53"], grace_ms: 60000, min_ttl_ms: 1000 }
services:
  - name: api
    listener: 127.0.0.1:8080
    in_house:
      capacity: 8
      endpoints: [{ address: "2001:db8::5", port: 80, capacity: 2 }]
      dns: [{ name: fleet.internal, port: 8080 }, { name: v6.internal, port: 8080, family: ipv6, capacity: 3 }]
      srv: [{ name: _http._tcp.fleet.internal }]
      files: [{ path: /etc/spillway/fleet.json, capacity: 4 }]
      health_check: { path: /ready, interval_ms: 2000 }
      outlier_detection: { consecutive_gateway_failure: 2 }
      slow_start_ms: 30000
`);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const s = r.config.services[0]!;
    expect(r.config.discovery).toMatchObject({
      dnsServers: [
        { host: '127.0.0.1', port: 5353 },
        { host: '::1', port: 53 },
      ],
      graceMs: 60_000,
    });
    expect(s.inHouseDefaultCapacity).toBe(8);
    expect(s.inHouseSources).toEqual([
      { kind: 'dns', name: 'fleet.internal', port: 8080, family: 'any' },
      { kind: 'dns', name: 'v6.internal', port: 8080, family: 'ipv6', capacity: 3 },
      { kind: 'srv', name: '_http._tcp.fleet.internal' },
      { kind: 'file', path: '/etc/spillway/fleet.json', capacity: 4 },
    ]);
    expect(s.inHouseHealth).toEqual({
      healthCheck: { path: '/ready', intervalMs: 2000, timeoutMs: 1000, healthyThreshold: 2, unhealthyThreshold: 2 },
      outlierDetection: {
        consecutive5xx: 5,
        consecutiveGatewayFailure: 2,
        intervalMs: 10_000,
        baseEjectionTimeMs: 30_000,
        maxEjectionPercent: 50,
      },
      slowStartMs: 30_000,
    });
  });

  it("reads Spillway's own probe with defaults that answer sooner than Envoy's health check", () => {
    const r = parseConfigText(`
services:
  - name: api
    listener: 127.0.0.1:8080
    in_house:
      endpoints: [{ address: 10.0.0.1, port: 80, capacity: 4 }]
      probe: { path: /ready }
`);
    expect(r.ok && r.config.services[0]!.inHouseHealth.probe).toEqual({
      path: '/ready',
      intervalMs: 1000,
      timeoutMs: 1000,
      healthyThreshold: 1,
      unhealthyThreshold: 2,
    });
  });

  it('names every problem by field path', () => {
    expect(
      errorsOf(`
discovery: { dns_servers: [dns.local:53], max_ttl_ms: 100, min_ttl_ms: 500 }
services:
  - name: api
    listener: 127.0.0.1:8080
    in_house:
      dns: [{ name: "not a name", port: 0 }]
      srv: [{ name: _x._tcp.y, weight: 3 }]
      files: [{}]
      health_check: { path: ready }
      probe: { path: /ok, interval_ms: 50, healthy: 1 }
`),
    ).toEqual(
      expect.arrayContaining([
        'discovery.dns_servers[0]: must be "ip:port" of a DNS server, got "dns.local:53"',
        'discovery.max_ttl_ms: must be at least min_ttl_ms (500), got 100',
        'services[0].in_house.dns[0].capacity: is required (or set the service default, in_house.capacity): A/AAAA records carry none',
        'services[0].in_house.dns[0].name: must be a DNS name, got "not a name"',
        'services[0].in_house.dns[0].port: must be between 1 and 65535, got 0',
        'services[0].in_house.srv[0].weight: unknown field (expected one of: name, capacity)',
        'services[0].in_house.files[0].path: is required',
        'services[0].in_house.health_check.path: must start with /, got "ready"',
        'services[0].in_house.probe.interval_ms: must be between 100 and 3600000, got 50',
        'services[0].in_house.probe.healthy: unknown field (expected one of: path, interval_ms, timeout_ms, healthy_threshold, unhealthy_threshold)',
      ]),
    );
    expect(errorsOf('services: [{ name: api, listener: "127.0.0.1:8080", in_house: {} }]')).toEqual([
      'services[0].in_house.endpoints: must list at least one endpoint (or in_house must name a dns, srv or files source)',
    ]);
  });

  it('a reload may change health checks and HTTP/2 but not the sources or discovery settings', () => {
    const base = loadConfig();
    const svc = base.services[0]!;
    const live = {
      ...base,
      services: [{ ...svc, inHouseHealth: { slowStartMs: 5000 }, modal: { ...svc.modal!, http2: false } }],
    };
    expect(changesNeedingRestart(base, live)).toEqual([]);
    const restart = {
      ...base,
      discovery: { ...base.discovery, graceMs: 1 },
      services: [{ ...svc, inHouseSources: [{ kind: 'file' as const, path: '/x.json' }] }],
    };
    expect(changesNeedingRestart(base, restart)).toEqual([
      'discovery: changed (takes effect on restart)',
      'services.echo.in_house: dns, srv, files or capacity changed (the sources restart with Spillway)',
    ]);
  });
});
