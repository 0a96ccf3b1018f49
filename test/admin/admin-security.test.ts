import * as grpc from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { loadAdminProtos } from '../../src/admin/admin-protos.js';
import { runWatch } from '../../src/cli/watch.js';
import type { CordonResponse__Output } from '../../src/generated/spillway/admin/v1/CordonResponse.js';
import type { ServiceState__Output } from '../../src/generated/spillway/admin/v1/ServiceState.js';
import type { State__Output } from '../../src/generated/spillway/admin/v1/State.js';
import { waitFor } from '../../tools/wait-for.js';
import { issueCert, makeTestPki, type TestPki } from '../../tools/pki.js';
import { bearer, rawConfig, startAdminRig, unary, type AdminRig } from './harness.js';

const ADMIN_TOKEN = 'adm1n-t0ken-3f9a7c2e5b';
const READ_TOKEN = 'r3ad-t0ken-8d1e4b6a0c';
const ENV = { SPILLWAY_TEST_ADMIN_TOKEN: ADMIN_TOKEN, SPILLWAY_TEST_READ_TOKEN: READ_TOKEN };
const TOKENS = { token_env: 'SPILLWAY_TEST_ADMIN_TOKEN', read_token_env: 'SPILLWAY_TEST_READ_TOKEN' };

describe('admin: read token, audit log, bounded arguments', () => {
  let rig: AdminRig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });
  const start = async (admin: Record<string, unknown> = {}): Promise<AdminRig> => {
    rig = await startAdminRig({ raw: rawConfig({ admin: { listen: '127.0.0.1:0', ...TOKENS, ...admin } }), env: ENV });
    return rig;
  };
  const audit = (r: AdminRig): Array<Record<string, any>> => r.logs.filter((l) => l['audit'] === true);

  it('GetState and WatchWeights need the read token (or the admin token); the read token cannot mutate', async () => {
    const r = await start();
    const get = r.admin.GetState.bind(r.admin);
    expect((await unary<object, State__Output>(get, {})).err?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await unary<object, State__Output>(get, {}, bearer('guess'))).err?.details).toBe(
      'GetState: a valid "authorization: Bearer <token>" (the read token or the admin token) is required',
    );
    expect((await unary<object, State__Output>(get, {}, bearer(READ_TOKEN))).res?.services).toHaveLength(2);
    expect((await unary<object, State__Output>(get, {}, bearer(ADMIN_TOKEN))).res?.services).toHaveLength(2);

    const watchErr = await new Promise<grpc.ServiceError>((resolve) => r.admin.WatchWeights({}).on('error', resolve));
    expect(watchErr.code).toBe(grpc.status.UNAUTHENTICATED);
    const first = await new Promise<State__Output>((resolve) => {
      const call = r.admin.WatchWeights({}, bearer(READ_TOKEN));
      call.on('data', (s: State__Output) => {
        call.cancel();
        resolve(s);
      });
      call.on('error', () => {});
    });
    expect(first.services).toHaveLength(2);

    const cordon = await unary(r.admin.Cordon.bind(r.admin), { service: 'echo', endpoint: '10.0.0.1:80' }, bearer(READ_TOKEN));
    expect(cordon.err?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(r.app.publisher.cordonsOf('echo').size).toBe(0);
  });

  it('writes every mutation attempt to the audit log: who (token name), what, when, outcome', async () => {
    const r = await start();
    const before = Date.now();
    const ok = await unary<object, CordonResponse__Output>(
      r.admin.Cordon.bind(r.admin),
      { service: 'echo', endpoint: '10.0.0.2:80', reason: 'kernel upgrade' },
      bearer(ADMIN_TOKEN),
    );
    expect(ok.err).toBeUndefined();
    await unary(r.admin.Override.bind(r.admin), { service: 'echo', share: 1.5, duration: { seconds: 60 } }, bearer(ADMIN_TOKEN));
    await unary(r.admin.ClearOverride.bind(r.admin), { service: 'echo' });
    await unary(r.admin.ClearOverride.bind(r.admin), { service: 'echo' }, bearer(ADMIN_TOKEN));
    const lines = audit(r);
    expect(lines.map((l) => [l['method'], l['outcome']])).toEqual([
      ['Cordon', 'applied'],
      ['Override', 'invalid argument: share: must be between 0 and 1'],
      ['ClearOverride', 'unauthenticated: missing token'],
      ['ClearOverride', 'applied'],
    ]);
    expect(lines[0]).toMatchObject({
      component: 'audit',
      who: { tokenName: 'SPILLWAY_TEST_ADMIN_TOKEN' },
      what: { service: 'echo', endpoint: '10.0.0.2:80', health: 'DRAINING', reason: 'kernel upgrade' },
    });
    expect(lines[0]!['who']['peer']).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(Date.parse(lines[0]!['at'] as string)).toBeGreaterThanOrEqual(before - 1000);
    expect(lines[1]!['what']).toMatchObject({ service: 'echo', share: 1.5 });
    expect(lines[2]!['who']).toMatchObject({ tokenName: 'none' });
    expect(r.logText()).not.toContain(ADMIN_TOKEN);
    expect(r.logText()).not.toContain(READ_TOKEN);
  });

  it('every argument is checked: oversized reasons, unknown names, shares and durations out of range, each naming its field', async () => {
    const r = await start({ limits: { max_reason_bytes: 32 } });
    const md = bearer(ADMIN_TOKEN);
    const cases: Array<[keyof typeof r.admin, object, RegExp]> = [
      [
        'Cordon',
        { service: 'echo', endpoint: '10.0.0.1:80', reason: 'r'.repeat(33) },
        /^reason: 33 bytes; admin\.limits\.max_reason_bytes = 32$/,
      ],
      ['Override', { service: 'echo', share: 0.1, duration: { seconds: 60 }, reason: 'é'.repeat(17) }, /^reason: 34 bytes/],
      ['Cordon', { service: 'x'.repeat(5000), endpoint: '10.0.0.1:80' }, /^service: "x{80}…" is not a configured service/],
      ['Cordon', { service: 'echo', endpoint: '10.9.9.9:80' }, /^endpoint: "10\.9\.9\.9:80" is not an in-house endpoint/],
      ['Override', { service: 'echo', share: -0.1, duration: { seconds: 60 } }, /^share: must be between 0 and 1/],
      ['Override', { service: 'echo', share: 0.1, duration: { seconds: -5 } }, /^duration: must be positive/],
      ['Override', { service: 'echo', share: 0.1, duration: { seconds: 86_401 } }, /^duration: must be at most 24h/],
    ];
    for (const [method, req, named] of cases) {
      type Unary = (req: object, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: ServiceState__Output) => void) => unknown;
      const fn = (r.admin[method] as (...a: unknown[]) => unknown).bind(r.admin) as unknown as Unary;
      const res = await unary<object, ServiceState__Output>(fn, req, md);
      expect(res.err?.code, JSON.stringify(req).slice(0, 80)).toBe(grpc.status.INVALID_ARGUMENT);
      expect(res.err?.details).toMatch(named);
    }
    expect(r.app.publisher.cordonsOf('echo').size).toBe(0);
    expect(r.app.overrides.get('echo')).toBeUndefined();
  });

  it('a request over admin.limits.max_message_bytes and a watcher past admin.limits.max_watchers are refused by name', async () => {
    const r = await start({ limits: { max_message_bytes: 1024, max_watchers: 1 } });
    const big = await unary(
      r.admin.Cordon.bind(r.admin),
      { service: 'echo', endpoint: '10.0.0.1:80', reason: 'x'.repeat(1500) },
      bearer(ADMIN_TOKEN),
    );
    expect(big.err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(big.err?.details).toMatch(/^message of \d+ bytes exceeds admin\.limits\.max_message_bytes = 1024$/);
    // CSDS, on the same port, is held to the same bound.
    const csds = new (loadAdminProtos().protos.envoy.service.status.v3.ClientStatusDiscoveryService)(
      `127.0.0.1:${r.app.adminPort}`,
      grpc.credentials.createInsecure(),
    );
    const bigCsds = await unary(
      csds.FetchClientStatus.bind(csds),
      { node_matchers: [{ node_id: { exact: 'x'.repeat(1500) } }] },
      bearer(READ_TOKEN),
    );
    csds.close();
    expect(bigCsds.err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(bigCsds.err?.details).toMatch(/^message of \d+ bytes exceeds admin\.limits\.max_message_bytes = 1024$/);
    const first = r.admin.WatchWeights({}, bearer(READ_TOKEN));
    first.on('error', () => {});
    await new Promise((resolve) => first.once('data', resolve));
    const second = await new Promise<grpc.ServiceError>((resolve) => r.admin.WatchWeights({}, bearer(READ_TOKEN)).on('error', resolve));
    expect(second.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(second.details).toBe('1 WatchWeights streams are open; admin.limits.max_watchers = 1');
    first.cancel();
  });
});

describe('admin over mutual TLS', () => {
  let rig: AdminRig | undefined;
  let pki: TestPki | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
    pki?.cleanup();
  });

  it('serves clients with a certificate from the client CA, names them in the audit log, and refuses others', async () => {
    pki = makeTestPki(['spillway-admin.internal']);
    const server = issueCert(pki, 'admin-server', { dns: ['spillway-admin.internal'], usage: 'server' });
    const operator = issueCert(pki, 'operator', { uris: ['spiffe://spillway.test/operator/alice'], usage: 'client' });
    rig = await startAdminRig({
      raw: rawConfig({
        admin: {
          listen: '127.0.0.1:0',
          ...TOKENS,
          tls: { cert_file: server.certPath, key_file: server.keyPath, client_ca_file: pki.caPath },
        },
      }),
      env: ENV,
    });
    const { protos } = loadAdminProtos();
    const address = `127.0.0.1:${rig.app.adminPort}`;
    const options = { 'grpc.ssl_target_name_override': 'spillway-admin.internal' };
    const ca = Buffer.from(pki.caPem);
    const alice = new protos.spillway.admin.v1.Admin(
      address,
      grpc.credentials.createSsl(ca, Buffer.from(operator.keyPem), Buffer.from(operator.certPem)),
      options,
    );
    const anonymous = new protos.spillway.admin.v1.Admin(address, grpc.credentials.createSsl(ca), options);
    const plaintext = new protos.spillway.admin.v1.Admin(address, grpc.credentials.createInsecure());
    try {
      const deadline = (): grpc.Metadata => bearer(ADMIN_TOKEN);
      const ok = await unary(alice.Cordon.bind(alice), { service: 'echo', endpoint: '10.0.0.1:80', reason: 'maintenance' }, deadline());
      expect(ok.err).toBeUndefined();
      // The admin certificate's expiry is in the metrics (the metrics port itself is plaintext here).
      const scraped = await (await fetch(`http://127.0.0.1:${rig.app.metricsPort}/metrics`)).text();
      const notAfterS = Date.parse(new X509Certificate(server.certPem).validTo) / 1000;
      expect(scraped).toContain(`spillway_tls_certificate_expiry_timestamp_seconds{port="admin"} ${notAfterS}`);
      expect(scraped).not.toMatch(/spillway_tls_certificate_expiry_timestamp_seconds\{port="(xds|metrics)"\}/);
      const line = rig.logs.find((l) => l['audit'] === true)!;
      expect(line['who']).toMatchObject({ tokenName: 'SPILLWAY_TEST_ADMIN_TOKEN', client: 'spiffe://spillway.test/operator/alice' });
      for (const c of [anonymous, plaintext]) {
        const refused = await new Promise<grpc.ServiceError | null>((resolve) =>
          c.GetState({}, bearer(READ_TOKEN), { deadline: Date.now() + 3000 }, (err) => resolve(err)),
        );
        expect(refused?.code).toBe(grpc.status.UNAVAILABLE);
      }
      // `spillway watch` reaches it the same way: CA, client certificate and the read token.
      const out = new PassThrough();
      let printed = '';
      out.on('data', (b: Buffer) => (printed += b.toString()));
      const stop = new AbortController();
      const watching = runWatch({
        admin: address,
        plain: true,
        out,
        signal: stop.signal,
        tls: { caFile: pki.caPath, certFile: operator.certPath, keyFile: operator.keyPath, serverName: 'spillway-admin.internal' },
        token: READ_TOKEN,
      });
      await waitFor(
        () => printed.includes('echo'),
        5000,
        () => `a line from spillway watch (got ${JSON.stringify(printed)})`,
      );
      stop.abort();
      expect(await watching).toBe(0);
      // GetState output carries neither token nor key.
      const state = await unary<object, State__Output>(alice.GetState.bind(alice), {}, bearer(READ_TOKEN));
      const text = JSON.stringify(state.res);
      for (const secret of [ADMIN_TOKEN, READ_TOKEN, server.keyPem.split('\n')[1]!, operator.keyPem.split('\n')[1]!]) {
        expect(text).not.toContain(secret);
        expect(rig.logText()).not.toContain(secret);
      }
    } finally {
      alice.close();
      anonymous.close();
      plaintext.close();
    }
  });
});
