// metrics.tls: /metrics and the status page over HTTPS (mutual with a client CA), the files followed
// as they rotate on disk, through a started Spillway.
import { X509Certificate } from 'node:crypto';
import { get as httpGet } from 'node:http';
import { get as httpsGet, type RequestOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { issueCert, makeTestPki, replaceCert, type TestPki } from '../../tools/pki.js';
import { waitFor } from '../../tools/wait-for.js';
import { rawConfig, startAdminRig, type AdminRig } from '../admin/harness.js';

interface Reply {
  status: number;
  body: string;
  /** SHA-256 fingerprint of the certificate the server presented. */
  served: string;
}

/** GET over HTTPS; rejects when the handshake or the request fails. */
function fetchTls(port: number, path: string, opts: RequestOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsGet({ host: '127.0.0.1', port, path, agent: false, timeout: 3000, ...opts }, (res) => {
      const served = (res.socket as TLSSocket).getPeerX509Certificate()?.fingerprint256 ?? '';
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, served }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

/** A plaintext GET to the same port: what an old scrape config would send. */
function fetchPlain(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: '127.0.0.1', port, path: '/metrics', agent: false, timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

describe('metrics.tls', () => {
  let rig: AdminRig | undefined;
  let pki: TestPki | undefined;
  let other: TestPki | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
    pki?.cleanup();
    other?.cleanup();
    other = undefined;
  });

  it('serves /metrics and the status page over HTTPS, only to clients with a certificate from the client CA, and follows a rotation', async () => {
    pki = makeTestPki(['spillway-metrics.internal']);
    const server = issueCert(pki, 'metrics-server', { ips: ['127.0.0.1'], usage: 'server' });
    const scraper = issueCert(pki, 'prometheus', { cn: 'prometheus', usage: 'client' });
    rig = await startAdminRig({
      raw: rawConfig({
        metrics: {
          listen: '127.0.0.1:0',
          tls: {
            cert_file: server.certPath,
            key_file: server.keyPath,
            client_ca_file: pki.caPath,
            require_client_cert: true,
            reload_interval_ms: 100,
          },
        },
      }),
    });
    const port = rig.app.metricsPort!;
    const trusted = { ca: pki.caPem, cert: scraper.certPem, key: scraper.keyPem };

    const scrape = await fetchTls(port, '/metrics', trusted);
    expect(scrape.status).toBe(200);
    expect(scrape.body).toMatch(/spillway_locality_weight\{service="echo",locality="modal"\}/);
    expect(scrape.served).toBe(new X509Certificate(server.certPem).fingerprint256);
    expect((await fetchTls(port, '/status', trusted)).status).toBe(200);
    // The certificate's expiry is a metric, for the port that serves TLS only.
    const expiry = (body: string): string | undefined =>
      /^spillway_tls_certificate_expiry_timestamp_seconds\{port="metrics"\} (\d+)$/m.exec(body)?.[1];
    const notAfter = (pem: string): string => String(Date.parse(new X509Certificate(pem).validTo) / 1000);
    expect(expiry(scrape.body)).toBe(notAfter(server.certPem));
    expect(scrape.body).not.toMatch(/spillway_tls_certificate_expiry_timestamp_seconds\{port="(xds|admin)"\}/);
    expect(rig.logs.find((l) => l['msg'] === 'Prometheus metrics serving')).toMatchObject({
      metrics: `https://127.0.0.1:${port}/metrics`,
      transport: 'mutual TLS',
    });

    // No client certificate, one from another CA, plaintext: refused.
    other = makeTestPki(['elsewhere.internal']);
    const stranger = issueCert(other, 'stranger', { cn: 'stranger', usage: 'client' });
    await expect(fetchTls(port, '/metrics', { ca: pki.caPem })).rejects.toThrow();
    await expect(fetchTls(port, '/metrics', { ca: pki.caPem, cert: stranger.certPem, key: stranger.keyPem })).rejects.toThrow();
    await expect(fetchPlain(port)).rejects.toThrow();

    // A new certificate written over the files: new connections get it, without a restart.
    const renewed = issueCert(pki, 'metrics-server-renewed', { ips: ['127.0.0.1'], usage: 'server', days: 9 });
    replaceCert(renewed, server);
    const fingerprint = new X509Certificate(renewed.certPem).fingerprint256;
    await waitFor(async () => (await fetchTls(port, '/metrics', trusted)).served === fingerprint, 5_000, 'the renewed certificate served');
    expect(expiry((await fetchTls(port, '/metrics', trusted)).body)).toBe(notAfter(renewed.certPem));
  });

  it('with client certificates asked for but not required: serves a client without one, refuses one from another CA', async () => {
    pki = makeTestPki(['spillway-metrics.internal']);
    other = makeTestPki(['elsewhere.internal']);
    const server = issueCert(pki, 'metrics-server', { ips: ['127.0.0.1'], usage: 'server' });
    const scraper = issueCert(pki, 'prometheus', { cn: 'prometheus', usage: 'client' });
    const stranger = issueCert(other, 'stranger', { cn: 'stranger', usage: 'client' });
    rig = await startAdminRig({
      raw: rawConfig({
        metrics: {
          listen: '127.0.0.1:0',
          tls: { cert_file: server.certPath, key_file: server.keyPath, client_ca_file: pki.caPath, require_client_cert: false },
        },
      }),
    });
    const port = rig.app.metricsPort!;
    expect((await fetchTls(port, '/metrics', { ca: pki.caPem })).status).toBe(200);
    expect((await fetchTls(port, '/metrics', { ca: pki.caPem, cert: scraper.certPem, key: scraper.keyPem })).status).toBe(200);
    const refused = await fetchTls(port, '/metrics', { ca: pki.caPem, cert: stranger.certPem, key: stranger.keyPem });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/metrics\.tls\.client_ca_file/);
  });

  it('a certificate that cannot be read leaves the metrics port closed and says which field, while xDS and admin serve', async () => {
    rig = await startAdminRig({
      raw: rawConfig({
        metrics: { listen: '127.0.0.1:0', tls: { cert_file: '/nonexistent/metrics.pem', key_file: '/nonexistent/metrics.key' } },
      }),
    });
    expect(rig.app.metricsPort).toBeUndefined();
    expect(rig.app.adminPort).toBeGreaterThan(0);
    const line = rig.logs.find((l) => l['msg'] === 'metrics endpoint not started');
    expect(line?.['err']).toMatch(/^metrics\.tls\.cert_file: cannot read \/nonexistent\/metrics\.pem \(ENOENT\)/);
  });
});
