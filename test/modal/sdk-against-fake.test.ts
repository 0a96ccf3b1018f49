// The unmodified modal@0.11.1 SDK, through Spillway's adapter, against the fake Modal over real gRPC.
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { createLogger } from '../../src/core/logger.js';
import { realScheduler } from '../../src/core/scheduler.js';
import { ModalConfigError, ModalUnavailableError, tidyErrorText } from '../../src/modal/errors.js';
import { freePort } from '../../tools/ports.js';
import { connectModalSdk } from '../../src/modal/modal-sdk.js';
import { waitFor } from '../../tools/wait-for.js';
import { startModalSide } from '../../src/modal/start-modal-side.js';
import type { ModalApi, ModalFunctionHandle } from '../../src/modal/types.js';
import type { AutoscalerCallEvent } from '../../src/modal/autoscaler-actuator.js';
import { ModalFailure } from '../../src/model/inputs.js';
import { startFakeModal, type FakeModal } from '../../tools/fake-modal/start-fake-modal.js';

const TOKEN_ID = 'ak-SpillwayTestTokenId42';
const TOKEN_SECRET = 'as-SpillwayTestTokenSecret99';
const credentials = { tokenId: TOKEN_ID, tokenSecret: TOKEN_SECRET };
const shop = { service: 'shop', appName: 'shop-app', functionName: 'web' };

let fake: FakeModal;
let api: ModalApi;
let handle: ModalFunctionHandle;

beforeAll(async () => {
  fake = await startFakeModal({
    credentials,
    functions: [{ appName: 'shop-app', functionName: 'web', coldStartMs: 30, maxInputs: 2, targetInputs: 1, scaledownWindowMs: 60_000 }],
  });
  // Keep the developer's own Modal profile and tokens out: the SDK reads ~/.modal.toml and MODAL_* once, at import.
  for (const k of ['MODAL_PROFILE', 'MODAL_ENVIRONMENT', 'MODAL_TOKEN_ID', 'MODAL_TOKEN_SECRET']) delete process.env[k];
  process.env['MODAL_CONFIG_PATH'] = '/dev/null';
  api = await connectModalSdk({ credentials, serverUrl: fake.controlUrl });
  handle = await api.lookup(shop);
});

afterAll(async () => {
  api?.close();
  await fake?.close();
});

beforeEach(() => fake.setFaults({}));

const until = (cond: () => boolean, timeoutMs = 3000): Promise<unknown> => waitFor(cond, timeoutMs, 'the fake Modal state', 10);

describe('function lookup', () => {
  it('finds a deployed function and its web URL', () => {
    expect(handle.functionId).toBe(fake.state().functions[0]?.functionId);
    expect(handle.webUrl).toBe(fake.httpsUrl);
  });

  it('reports an unknown function as a start-up error naming the service', async () => {
    const err = await api.lookup({ service: 'cart', appName: 'shop-app', functionName: 'nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModalConfigError);
    expect((err as ModalConfigError).service).toBe('cart');
    expect((err as Error).message).toBe("modal[cart]: Modal function 'shop-app/nope' not found");
  });

  it('reports missing credentials before any RPC, naming the service', async () => {
    const bare = await connectModalSdk({ serverUrl: fake.controlUrl });
    const calls = fake.state().rpcCalls['FunctionGet'];
    const err = await bare.lookup({ ...shop, service: 'checkout' }).catch((e: unknown) => e);
    bare.close();
    expect(err).toBeInstanceOf(ModalConfigError);
    expect((err as Error).message).toMatch(/^modal\[checkout\]: no Modal credentials: set MODAL_TOKEN_ID/);
    expect(fake.state().rpcCalls['FunctionGet']).toBe(calls);
  });

  it('reports an unreachable Modal API as a transient error (worth retrying), its text with no empty fragment', async () => {
    const closed = await connectModalSdk({ credentials, serverUrl: `http://127.0.0.1:${await freePort()}` });
    const err = await closed.lookup(shop).catch((e: unknown) => e);
    closed.close();
    expect(err).toBeInstanceOf(ModalUnavailableError);
    const text = (err as Error).message;
    expect(text).toMatch(/^modal\[shop\]: looking up Modal function 'shop-app\/web' failed: .*UNAVAILABLE/);
    expect(text).not.toMatch(/Resolution note/);
    expect(text).not.toMatch(/:\s*$/);
  });

  it('reports UNAVAILABLE from Modal as transient, and credentials Modal rejects as permanent', async () => {
    fake.setFaults({ outage: true });
    const down = await connectModalSdk({ credentials, serverUrl: fake.controlUrl });
    const unavailable = await down.lookup(shop).catch((e: unknown) => e);
    down.close();
    fake.setFaults({});
    expect(unavailable).toBeInstanceOf(ModalUnavailableError);
    const wrong = await connectModalSdk({
      credentials: { tokenId: TOKEN_ID, tokenSecret: 'as-NotTheSecret123' },
      serverUrl: fake.controlUrl,
    });
    const rejected = await wrong.lookup(shop).catch((e: unknown) => e);
    wrong.close();
    expect(rejected).toBeInstanceOf(ModalConfigError);
    expect((rejected as Error).message).toMatch(/^modal\[shop\]: .*UNAUTHENTICATED/);
  });

  it('takes credentials from MODAL_TOKEN_ID / MODAL_TOKEN_SECRET like Modal tools do', async () => {
    process.env['MODAL_TOKEN_ID'] = TOKEN_ID;
    process.env['MODAL_TOKEN_SECRET'] = TOKEN_SECRET;
    try {
      const fromEnv = await connectModalSdk({ serverUrl: fake.controlUrl });
      const h = await fromEnv.lookup(shop);
      fromEnv.close();
      expect(h.functionId).toBe(handle.functionId);
    } finally {
      delete process.env['MODAL_TOKEN_ID'];
      delete process.env['MODAL_TOKEN_SECRET'];
    }
  });
});

describe('error text', () => {
  it('drops grpc-js label-only fragments and keeps everything else', () => {
    const raw =
      '/modal.client.ModalClient/FunctionGet UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ';
    expect(tidyErrorText(raw)).toBe(
      '/modal.client.ModalClient/FunctionGet UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1',
    );
    expect(tidyErrorText('No addresses resolved. Resolution note: . Other')).toBe('No addresses resolved. Other');
    expect(tidyErrorText('Resolution note: DNS said no')).toBe('Resolution note: DNS said no');
  });
});

describe('current stats', () => {
  it('follow the fake state, including running inputs and headroom', async () => {
    const idle = await handle.currentStats(new AbortController().signal);
    expect(idle).toEqual({ backlog: 0, numTotalRunners: 0, numRunningInputs: 0, inputHeadroom: 0 });

    // Three long requests, target_inputs=1: three containers, one input each, one slot of headroom each.
    const requests = [1, 2, 3].map(() => fetch(`${fake.httpUrl}/?ms=600`));
    await until(() => fake.state().functions[0]?.stats.runningInputs === 3);
    const busy = await handle.currentStats(new AbortController().signal);
    const truth = fake.state().functions[0]?.stats;
    expect(busy).toEqual({
      backlog: truth?.backlog,
      numTotalRunners: truth?.runners,
      numRunningInputs: 3,
      inputHeadroom: truth?.inputHeadroom,
    });
    expect(busy.numTotalRunners).toBe(3);
    expect(busy.inputHeadroom).toBe(3);
    for (const r of await Promise.all(requests)) expect(r.status).toBe(200);
  });
});

describe('autoscaler updates', () => {
  it('change the fake behaviour and read back what it holds', async () => {
    const current = await handle.updateAutoscaler({ minContainers: 2, scaledownWindowMs: 30_500 });
    expect(current).toEqual({ minContainers: 2, maxContainers: 10, bufferContainers: 0, scaledownWindowMs: 30_000 });
    await until(() => (fake.state().functions[0]?.containers.length ?? 0) >= 2);
    const stats = await handle.currentStats(new AbortController().signal);
    expect(stats.numTotalRunners).toBeGreaterThanOrEqual(2);
    // Unset fields are left alone (proto3 optional presence survives the round trip).
    expect(await handle.updateAutoscaler({})).toEqual(current);
    await handle.updateAutoscaler({ minContainers: 0, scaledownWindowMs: 60_000 });
  });
});

describe('credentials stay out of logs and errors', () => {
  it('never writes a token to pino output or error messages, whatever fails', async () => {
    const out = new PassThrough();
    let captured = '';
    out.on('data', (c: Buffer) => (captured += c.toString('utf8')));
    const logger = createLogger({ level: 'debug', destination: out });

    const errors: string[] = [];
    const wrong = await connectModalSdk({
      credentials: { tokenId: TOKEN_ID, tokenSecret: 'as-WrongSecretValue123' },
      serverUrl: fake.controlUrl,
      logger,
    });
    errors.push(String(await wrong.lookup(shop).catch((e: unknown) => (e as Error).message)));
    wrong.close();

    const side = await startModalSide({
      functions: [shop],
      clock: systemClock,
      scheduler: realScheduler,
      logger,
      sdk: { credentials, serverUrl: fake.controlUrl },
      poll: { intervalMs: 20, timeoutMs: 500, backoff: { baseMs: 5, maxMs: 20 } },
    });
    fake.setFaults({ statsError: 'UNAUTHENTICATED' });
    await until(() => (side.poller.status('shop')?.consecutiveFailures ?? 0) >= 2);
    errors.push(side.poller.status('shop')?.lastError ?? '');
    side.close();

    expect(errors[0]).toMatch(/UNAUTHENTICATED/);
    expect(errors[1]).toMatch(/UNAUTHENTICATED/);
    expect(captured).toMatch(/modal stats poll failed/);
    for (const text of [captured, ...errors]) {
      expect(text).not.toContain(TOKEN_SECRET);
      expect(text).not.toContain(TOKEN_ID);
      expect(text).not.toContain('as-WrongSecretValue123');
    }
  });
});

describe('poller over the real SDK under faults', () => {
  it('counts failures, backs off, recovers, and cuts a hung call', async () => {
    const side = await startModalSide({
      functions: [shop],
      clock: systemClock,
      scheduler: realScheduler,
      sdk: { credentials, serverUrl: fake.controlUrl },
      poll: { intervalMs: 20, timeoutMs: 150, backoff: { baseMs: 10, maxMs: 40 } },
    });
    const status = () => side.poller.status('shop');
    try {
      await until(() => status()?.last !== undefined);

      fake.setFaults({ statsError: 'UNAVAILABLE' });
      await until(() => (status()?.consecutiveFailures ?? 0) >= 3);
      expect(status()?.lastError).toMatch(/UNAVAILABLE/);
      expect(status()?.lastFailure).toBe(ModalFailure.Unavailable);

      fake.setFaults({ statsMalformed: true });
      const before = status()?.consecutiveFailures ?? 0;
      await until(() => (status()?.consecutiveFailures ?? 0) > before && /parsing/.test(status()?.lastError ?? ''));
      expect(status()?.lastFailure).toBe(ModalFailure.Other);

      fake.setFaults({});
      await until(() => status()?.consecutiveFailures === 0);
      expect(status()?.lastError).toBeUndefined();
      expect(status()?.lastFailure).toBeUndefined();

      fake.setFaults({ statsDelayMs: 2000 });
      await until(() => /timed out after 150 ms/.test(status()?.lastError ?? ''));
      expect(status()?.lastFailure).toBe(ModalFailure.Timeout);

      // Frozen stats keep answering, but nothing in them changes while the real state does.
      fake.setFaults({ statsFrozen: true });
      await until(() => status()?.consecutiveFailures === 0);
      const frozen = fake.state().functions[0]?.reportedStats;
      const work = fetch(`${fake.httpUrl}/?ms=400`);
      await until(() => (fake.state().functions[0]?.stats.runningInputs ?? 0) >= 1);
      const seen = status()?.last?.observedAtMs ?? 0;
      await until(() => (status()?.last?.observedAtMs ?? 0) > seen);
      expect(status()?.last?.runningInputs).toBe(frozen?.runningInputs);
      expect(status()?.last?.runningInputs).not.toBe(fake.state().functions[0]?.stats.runningInputs);
      expect((await work).status).toBe(200);
    } finally {
      side.close();
    }
  });
});

describe('what failed, named for metrics', () => {
  it('tells a rate limit from an outage and a rejection, for stats polls and autoscaler calls', async () => {
    const side = await startModalSide({
      functions: [shop],
      clock: systemClock,
      scheduler: realScheduler,
      sdk: { credentials, serverUrl: fake.controlUrl },
      poll: { intervalMs: 20, timeoutMs: 2000, backoff: { baseMs: 10, maxMs: 40 } },
      autoscaler: { minIntervalMs: 0 },
    });
    const status = () => side.poller.status('shop');
    const calls: AutoscalerCallEvent[] = [];
    side.onAutoscalerCall((r) => calls.push(r));
    try {
      await until(() => status()?.last !== undefined);
      // Modal is up and says no: asking harder makes it worse, so it is told apart from an outage.
      fake.setFaults({ statsError: 'RESOURCE_EXHAUSTED' });
      await until(() => status()?.lastFailure === ModalFailure.RateLimited, 10_000);
      expect(status()?.lastError).toMatch(/RESOURCE_EXHAUSTED/);
      fake.setFaults({ statsError: 'PERMISSION_DENIED' });
      await until(() => status()?.lastFailure === ModalFailure.Rejected, 10_000);
      // An error on Modal's side this time is an outage's kind, not "other".
      fake.setFaults({ statsError: 'INTERNAL' });
      await until(() => status()?.lastFailure === ModalFailure.Unavailable, 10_000);

      fake.setFaults({});
      await until(() => status()?.consecutiveFailures === 0);
      expect((await side.actuator.apply('shop', { minContainers: 1 })).outcome).toBe('applied');
      fake.setFaults({ apiOutage: true });
      const failed = await side.actuator.apply('shop', { minContainers: 2 });
      expect(failed).toMatchObject({ outcome: 'failed', failure: ModalFailure.Unavailable });
      expect(await side.actuator.readBack('shop')).toMatchObject({ outcome: 'failed', failure: ModalFailure.Unavailable });
      fake.setFaults({});
      expect((await side.actuator.readBack('shop')).outcome).toBe('unchanged');
      // Every call that reached Modal's autoscaler API is reported once, answered or failed.
      expect(calls.map((c) => [c.call, c.failure])).toEqual([
        ['update', undefined],
        ['update', ModalFailure.Unavailable],
        ['read_back', ModalFailure.Unavailable],
        ['read_back', undefined],
      ]);
    } finally {
      fake.setFaults({});
      await side.actuator.apply('shop', { minContainers: 0 }).catch(() => undefined);
      side.close();
    }
  });
});
