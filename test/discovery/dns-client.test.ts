import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDnsClient, DnsFailure, type DnsClient } from '../../src/discovery/dns-client.js';
import { startDnsServer, type TestDnsServer } from '../support/dns-server.js';

describe('DNS client against a real DNS server on loopback', () => {
  let server: TestDnsServer;
  let dns: DnsClient;
  beforeAll(async () => {
    server = await startDnsServer();
    const [host, port] = server.address.split(':');
    dns = createDnsClient({ servers: [{ host: host!, port: Number(port) }], timeoutMs: 300 });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('returns every A and AAAA address with the smallest TTL', async () => {
    server.setA('fleet.test', ['127.0.0.2', '127.0.0.1'], 30);
    server.setAAAA('fleet.test', ['::1'], 7);
    expect(await dns.addresses('fleet.test', 'any')).toEqual({ addresses: ['127.0.0.1', '127.0.0.2', '::1'], ttlMs: 7000 });
    expect((await dns.addresses('fleet.test', 'ipv4')).addresses).toEqual(['127.0.0.1', '127.0.0.2']);
    expect((await dns.addresses('fleet.test', 'ipv6')).addresses).toEqual(['::1']);
  });

  it('reads SRV records with their ports, weights and priorities', async () => {
    server.setSrv('_http._tcp.fleet.test', [
      { target: 'a.fleet.test', port: 8081, weight: 3, priority: 10 },
      { target: 'b.fleet.test', port: 8082, weight: 1, priority: 20 },
    ]);
    const records = await dns.srv('_http._tcp.fleet.test');
    expect(records.sort((x, y) => x.port - y.port)).toEqual([
      { target: 'a.fleet.test', port: 8081, weight: 3, priority: 10 },
      { target: 'b.fleet.test', port: 8082, weight: 1, priority: 20 },
    ]);
  });

  it('an unknown name or a missing record type is an empty answer; SERVFAIL is a failure', async () => {
    expect(await dns.addresses('nowhere.test', 'any')).toEqual({ addresses: [], ttlMs: undefined });
    server.setA('v4only.test', ['127.0.0.9']);
    expect((await dns.addresses('v4only.test', 'ipv6')).addresses).toEqual([]);
    server.setOutage(true);
    try {
      await expect(dns.addresses('fleet.test', 'any')).rejects.toBeInstanceOf(DnsFailure);
      await expect(dns.srv('_http._tcp.fleet.test')).rejects.toThrow(/SRV _http._tcp.fleet.test: ESERVFAIL/);
    } finally {
      server.setOutage(false);
    }
  });
});
