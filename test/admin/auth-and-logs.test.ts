import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { BearerAuth } from '../../src/admin/auth.js';
import type { CordonResponse__Output } from '../../src/generated/spillway/admin/v1/CordonResponse.js';
import type { State__Output } from '../../src/generated/spillway/admin/v1/State.js';
import { bearer, rawConfig, startAdminRig, unary, type AdminRig } from './harness.js';

const TOKEN = 's3cr3t-admin-token-6f1d2c';

describe('admin auth', () => {
  let rig: AdminRig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  const start = async (): Promise<AdminRig> => {
    rig = await startAdminRig({
      raw: rawConfig({ admin: { listen: '127.0.0.1:0', token_env: 'SPILLWAY_TEST_ADMIN_TOKEN' } }),
      env: { SPILLWAY_TEST_ADMIN_TOKEN: TOKEN },
    });
    return rig;
  };

  it('mutating calls need the bearer token: missing or wrong → UNAUTHENTICATED, right → OK; reads need none', async () => {
    const r = await start();
    const cordon = r.admin.Cordon.bind(r.admin);
    const req = { service: 'echo', endpoint: '10.0.0.1:80' };

    const missing = await unary<object, CordonResponse__Output>(cordon, req);
    expect(missing.err?.code).toBe(grpc.status.UNAUTHENTICATED);
    const wrong = await unary<object, CordonResponse__Output>(cordon, req, bearer('not-the-token'));
    expect(wrong.err?.code).toBe(grpc.status.UNAUTHENTICATED);
    const prefix = await unary<object, CordonResponse__Output>(cordon, req, bearer(TOKEN.slice(0, -1)));
    expect(prefix.err?.code).toBe(grpc.status.UNAUTHENTICATED);
    const basic = new grpc.Metadata();
    basic.set('authorization', `Basic ${TOKEN}`);
    expect((await unary(cordon, req, basic)).err?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(r.app.publisher.cordonsOf('echo').size).toBe(0);

    const ok = await unary<object, CordonResponse__Output>(cordon, req, bearer(TOKEN));
    expect(ok.err).toBeUndefined();
    expect(ok.res!.health).toBe('DRAINING');

    const override = await unary(r.admin.Override.bind(r.admin), { service: 'echo', share: 0.5, duration: { seconds: 60 } });
    expect(override.err?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await unary(r.admin.ClearOverride.bind(r.admin), { service: 'echo' })).err?.code).toBe(grpc.status.UNAUTHENTICATED);

    const read = await unary<object, State__Output>(r.admin.GetState.bind(r.admin), {});
    expect(read.err).toBeUndefined();
  });

  it('the token never appears in the logs, not even when a wrong one is sent or the right one is used', async () => {
    const r = await start();
    const req = { service: 'echo', endpoint: '10.0.0.1:80', reason: 'test' };
    await unary(r.admin.Cordon.bind(r.admin), req, bearer(`${TOKEN}-wrong`));
    await unary(r.admin.Cordon.bind(r.admin), req, bearer(TOKEN));
    await unary(r.admin.Override.bind(r.admin), { service: 'echo', share: 0.3, duration: { seconds: 60 } }, bearer(TOKEN));
    await r.close();
    rig = undefined;
    const refused = r.logs.find((l) => l['component'] === 'admin' && l['method'] === 'Cordon' && l['problem'] === 'wrong');
    expect(refused, 'the refused call is logged').toBeDefined();
    expect(r.logs.some((l) => l['component'] === 'admin' && l['method'] === 'Override')).toBe(true);
    expect(r.logText()).not.toContain(TOKEN);
    expect(r.logText()).not.toContain(TOKEN.slice(0, 12));
  });
});

describe('BearerAuth', () => {
  const md = (v?: string): grpc.Metadata => {
    const m = new grpc.Metadata();
    if (v !== undefined) m.set('authorization', v);
    return m;
  };
  it('allows everything when no token is configured', () => {
    expect(new BearerAuth(undefined).check(md()).ok).toBe(true);
  });
  it('tells missing, malformed and wrong apart', () => {
    const a = new BearerAuth('tok');
    expect(a.check(md())).toEqual({ ok: false, problem: 'missing' });
    expect(a.check(md('tok'))).toEqual({ ok: false, problem: 'malformed' });
    expect(a.check(md('Bearer nope'))).toEqual({ ok: false, problem: 'wrong' });
    expect(a.check(md('Bearer tok')).ok).toBe(true);
    expect(a.check(md('bearer tok')).ok).toBe(true);
  });
});
