import { writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { startSpillway, type SpillwayApp } from '../../src/app/spillway-app.js';
import { createLogger } from '../../src/core/logger.js';
import type { DiscoveryRequest } from '../../src/generated/envoy/service/discovery/v3/DiscoveryRequest.js';
import { loadProtos } from '../../src/protos/load-protos.js';
import { checkNodeIdentity } from '../../src/xds/node-identity.js';
import { parseSubjectAltName, type PeerIdentity } from '../../src/xds/peer-identity.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import { ADS_SOTW_PATH, LRS_PATH, RawGrpcConnection, type ClientTls } from '../../tools/fuzz/raw-grpc.js';
import { waitFor } from '../../tools/wait-for.js';
import { issueCert, makeTestPki, type IssuedCert, type TestPki } from '../../tools/pki.js';
import { configFrom } from '../../tools/config-fixtures.js';
import { PROTOCOL_TEST_CONFIG } from './fixtures.js';

const protos = loadProtos().protos;
const sotw = (r: DiscoveryRequest): Buffer =>
  protos.envoy.service.discovery.v3.AggregatedDiscoveryService.service.StreamAggregatedResources.requestSerialize(r);
const lrs = (nodeId: string): Buffer =>
  protos.envoy.service.load_stats.v3.LoadReportingService.service.StreamLoadStats.requestSerialize({ node: { id: nodeId } });

describe('node identity rule (pure)', () => {
  const id = (uris: string[], dnsNames: string[] = []): PeerIdentity => ({ uris, dnsNames, commonName: 'x', fingerprint: 'f' });

  it('binds a node id to a URI SAN through the template, and names the rule when it does not match', () => {
    const rule = { san: 'uri' as const, template: 'spiffe://td/envoy/{node_id}' };
    expect(checkNodeIdentity(rule, 'edge-1', id(['spiffe://td/envoy/edge-1']))).toEqual({ ok: true });
    const denied = checkNodeIdentity(rule, 'edge-2', id(['spiffe://td/envoy/edge-1'], ['edge-2']));
    expect(denied.ok).toBe(false);
    expect(!denied.ok && denied.problem).toBe(
      'node "edge-2" is not this client certificate\'s identity: xds.node_identity (URI SAN matching "spiffe://td/envoy/{node_id}"); the certificate has "spiffe://td/envoy/edge-1"',
    );
    const none = checkNodeIdentity(rule, 'edge-1', undefined);
    expect(!none.ok && none.problem).toContain('no verified client certificate');
  });

  it('matches DNS SANs, any SAN, and * within one label or segment; the node id is literal, never a pattern', () => {
    expect(checkNodeIdentity({ san: 'dns', template: '{node_id}.envoys.internal' }, 'a', id([], ['a.envoys.internal'])).ok).toBe(true);
    expect(checkNodeIdentity({ san: 'dns', template: '{node_id}.envoys.internal' }, 'a', id(['a.envoys.internal'])).ok).toBe(false);
    expect(checkNodeIdentity({ san: 'any', template: '{node_id}' }, 'a', id([], ['a'])).ok).toBe(true);
    const ns = { san: 'uri' as const, template: 'spiffe://td/ns/*/sa/{node_id}' };
    expect(checkNodeIdentity(ns, 'e1', id(['spiffe://td/ns/prod/sa/e1'])).ok).toBe(true);
    expect(checkNodeIdentity(ns, 'e1', id(['spiffe://td/ns/a/b/sa/e1'])).ok).toBe(false);
    expect(checkNodeIdentity({ san: 'uri', template: '{node_id}' }, '.*', id(['anything'])).ok).toBe(false);
  });

  it("reads Node's subjectaltname, quoted values included", () => {
    expect(parseSubjectAltName('DNS:a.example, URI:spiffe://td/x, IP Address:127.0.0.1, URI:"spiffe://td/a,b"')).toEqual([
      { kind: 'DNS', value: 'a.example' },
      { kind: 'URI', value: 'spiffe://td/x' },
      { kind: 'IP Address', value: '127.0.0.1' },
      { kind: 'URI', value: 'spiffe://td/a,b' },
    ]);
  });
});

describe('xDS port over mutual TLS', () => {
  let pki: TestPki;
  let otherCa: TestPki;
  let server: IssuedCert;
  let app: SpillwayApp;
  let logText = '';
  const td = 'spiffe://spillway.test/envoy';

  beforeAll(async () => {
    pki = makeTestPki(['spillway.internal']);
    otherCa = makeTestPki(['spillway.internal']);
    server = issueCert(pki, 'spillway', { dns: ['spillway.internal'], ips: ['127.0.0.1'], usage: 'server' });
    const destination = new Writable({
      write(chunk: Buffer, _e, cb) {
        logText += chunk.toString();
        cb();
      },
    });
    app = await startSpillway(
      configFrom({
        ...PROTOCOL_TEST_CONFIG,
        xds: {
          listen: '127.0.0.1:0',
          tls: { cert_file: server.certPath, key_file: server.keyPath, client_ca_file: pki.caPath, reload_interval_ms: 100_000 },
          node_identity: { san: 'uri', template: `${td}/{node_id}` },
        },
        lrs: { reporters: ['edge-*'] },
      }),
      { logger: createLogger({ level: 'debug', destination }) },
    );
  });
  afterAll(async () => {
    await app?.stop();
    pki?.cleanup();
    otherCa?.cleanup();
  });

  const tlsAs = (cert: IssuedCert | undefined, ca: TestPki = pki): ClientTls => ({
    ca: ca.caPem,
    servername: 'spillway.internal',
    ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}),
  });
  const attempt = async (
    tls: ClientTls,
    path: string,
    first: Buffer,
  ): Promise<{ connectError?: Error; code?: number; message: string; messages: number }> => {
    const conn = new RawGrpcConnection(`127.0.0.1:${app.xdsPort}`, { tls });
    try {
      const call = conn.open(path);
      call.send(first);
      const outcome = await Promise.race([
        call.ended.then((e) => ({ ...e, messages: call.messages.length })),
        waitFor(() => call.messages.length > 0, 3000, 'a response').then(() => ({
          code: undefined,
          message: 'served',
          messages: call.messages.length,
        })),
      ]);
      const connectError = await Promise.race([conn.ready, Promise.resolve(undefined)]);
      return {
        ...(connectError ? { connectError } : {}),
        ...(outcome.code !== undefined ? { code: outcome.code } : {}),
        message: outcome.message,
        messages: outcome.messages,
      };
    } finally {
      conn.close();
    }
  };

  it('serves a client whose certificate is its node identity', async () => {
    const r = await attempt(
      tlsAs(issueCert(pki, 'edge-1', { uris: [`${td}/edge-1`], usage: 'client' })),
      ADS_SOTW_PATH,
      sotw({ node: { id: 'edge-1' }, type_url: TypeUrl.Cluster }),
    );
    expect(r.messages).toBeGreaterThan(0);
    // The xDS certificate's expiry is in the metrics.
    const scraped = await (await fetch(`http://127.0.0.1:${app!.metricsPort}/metrics`)).text();
    const notAfterS = Date.parse(new X509Certificate(server.certPem).validTo) / 1000;
    expect(scraped).toContain(`spillway_tls_certificate_expiry_timestamp_seconds{port="xds"} ${notAfterS}`);
  });

  it('refuses the handshake without a client certificate, and with one from another CA', async () => {
    for (const tls of [tlsAs(undefined), tlsAs(issueCert(otherCa, 'edge-1', { uris: [`${td}/edge-1`], usage: 'client' }))]) {
      const r = await attempt(tls, ADS_SOTW_PATH, sotw({ node: { id: 'edge-1' }, type_url: TypeUrl.Cluster }));
      expect(r.messages).toBe(0);
      expect(r.code).toBeUndefined();
    }
  });

  it('refuses a node id its certificate does not carry: PERMISSION_DENIED naming the rule, logged once per peer', async () => {
    const thief = issueCert(pki, 'thief', { uris: [`${td}/thief`], usage: 'client' });
    for (let i = 0; i < 3; i++) {
      const r = await attempt(tlsAs(thief), ADS_SOTW_PATH, sotw({ node: { id: 'edge-1' }, type_url: TypeUrl.Cluster }));
      expect(r.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(r.message).toContain(
        `node "edge-1" is not this client certificate's identity: xds.node_identity (URI SAN matching "${td}/{node_id}")`,
      );
      expect(r.messages).toBe(0);
    }
    const warnings = logText.split('\n').filter((l) => l.includes('"rule":"xds.node_identity"') && l.includes('"level":40'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`"peer":"${td}/thief"`);
  });

  it('takes load reports only from the nodes lrs.reporters names, and only with their own certificate', async () => {
    const ok = await attempt(tlsAs(issueCert(pki, 'edge-2', { uris: [`${td}/edge-2`], usage: 'client' })), LRS_PATH, lrs('edge-2'));
    expect(ok.code).toBeUndefined();
    expect(ok.messages).toBe(1);
    const other = await attempt(tlsAs(issueCert(pki, 'probe-1', { uris: [`${td}/probe-1`], usage: 'client' })), LRS_PATH, lrs('probe-1'));
    expect(other.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(other.message).toBe('node "probe-1" may not report load: lrs.reporters allows "edge-*"');
    const stolen = await attempt(tlsAs(issueCert(pki, 'probe-2', { uris: [`${td}/probe-2`], usage: 'client' })), LRS_PATH, lrs('edge-2'));
    expect(stolen.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(stolen.message).toContain('xds.node_identity');
  });

  it('keeps serving the last good certificate when a rotation leaves a pair that does not load, and never logs key material', async () => {
    const before = server.certPem;
    const other = issueCert(pki, 'spillway-other', { dns: ['spillway.internal'], usage: 'server' });
    // Half a rotation: the new certificate with the old key.
    writeFileSync(server.certPath, other.certPem);
    expect(app.reloadXdsTls()).toBe(false);
    const r = await attempt(
      tlsAs(issueCert(pki, 'edge-3', { uris: [`${td}/edge-3`], usage: 'client' })),
      ADS_SOTW_PATH,
      sotw({ node: { id: 'edge-3' }, type_url: TypeUrl.Cluster }),
    );
    expect(r.messages).toBeGreaterThan(0);
    expect(logText).toContain('TLS files changed but do not load; the previous certificate keeps serving');
    writeFileSync(server.certPath, before);
    const keyBody = server.keyPem.split('\n').slice(1, -2).join('');
    for (const secret of [server.keyPem, other.keyPem, keyBody.slice(0, 40), 'PRIVATE KEY']) expect(logText).not.toContain(secret);
  });
});
