// Function lookups in virtual time: transient failures are retried with backoff until Modal answers,
// a permanent first answer fails the first round, and the Modal side serves a pending feed meanwhile.
import { describe, expect, it } from 'vitest';
import { ModalConfigError, ModalUnavailableError } from '../../src/modal/errors.js';
import { FunctionLookup } from '../../src/modal/function-lookup.js';
import { startModalSide } from '../../src/modal/start-modal-side.js';
import type { ModalApi, ModalFunctionHandle, ModalFunctionRef } from '../../src/modal/types.js';
import { VirtualTime } from '../support/virtual-time.js';

const shop: ModalFunctionRef = { service: 'shop', appName: 'shop-app', functionName: 'web' };
const echo: ModalFunctionRef = { service: 'echo', appName: 'echo-app', functionName: 'web' };

type Answer = 'ok' | 'down' | 'missing' | 'hang';

/** A Modal API whose lookups answer as scripted per service (the last answer repeats). */
function scriptedApi(script: Record<string, Answer[]>): ModalApi & { calls: Record<string, number[]>; vt?: VirtualTime } {
  const calls: Record<string, number[]> = {};
  const api = {
    calls,
    vt: undefined as VirtualTime | undefined,
    async lookup(ref: ModalFunctionRef): Promise<ModalFunctionHandle> {
      const n = (calls[ref.service] ??= []).push(api.vt?.nowMs() ?? 0) - 1;
      const steps = script[ref.service] ?? ['ok'];
      const step = steps[Math.min(n, steps.length - 1)];
      if (step === 'down') throw new ModalUnavailableError(ref.service, 'looking up failed: UNAVAILABLE: No connection established');
      if (step === 'missing') throw new ModalConfigError(ref.service, `Modal function '${ref.appName}/${ref.functionName}' not found`);
      if (step === 'hang') return new Promise(() => {});
      return {
        ref,
        functionId: `fu-${ref.service}`,
        currentStats: async () => ({ backlog: 0, numTotalRunners: 1, numRunningInputs: 0, inputHeadroom: 4 }),
        updateAutoscaler: async (s) => s,
      };
    },
    close: () => {},
  };
  return api;
}

function lookup(api: ModalApi, vt: VirtualTime, refs: ModalFunctionRef[], found: string[]): FunctionLookup {
  return new FunctionLookup({
    refs,
    connect: async () => api,
    clock: vt,
    scheduler: vt,
    timeoutMs: 3_000,
    backoff: { baseMs: 1_000, maxMs: 8_000 },
    random: () => 1, // the ceiling itself: delays are exact
    onFound: (h) => found.push(h.ref.service),
  });
}

describe('FunctionLookup', () => {
  it('retries a transient failure with growing backoff until Modal answers', async () => {
    const vt = new VirtualTime(0);
    const api = scriptedApi({ shop: ['down', 'down', 'down', 'down', 'down', 'ok'] });
    api.vt = vt;
    const found: string[] = [];
    const l = lookup(api, vt, [shop], found);
    l.start();
    await expect(l.firstRound).resolves.toBeUndefined(); // transient: start-up goes on
    expect(l.status('shop')).toMatchObject({ found: false, consecutiveFailures: 1, permanent: false });
    expect(l.status('shop')!.lastError).toMatch(/UNAVAILABLE/);
    await vt.advance(60_000);
    // 1, 2, 4, 8, 8 s apart (full jitter drawn at its ceiling here).
    expect(api.calls['shop']).toEqual([0, 1_000, 3_000, 7_000, 15_000, 23_000]);
    expect(found).toEqual(['shop']);
    expect(l.status('shop')).toMatchObject({ found: true, consecutiveFailures: 0, attempts: 6 });
    l.close();
  });

  it('counts a hung lookup as a transient failure after its timeout', async () => {
    const vt = new VirtualTime(0);
    const api = scriptedApi({ shop: ['hang', 'ok'] });
    const found: string[] = [];
    const l = lookup(api, vt, [shop], found);
    l.start();
    await vt.advance(3_000);
    await expect(l.firstRound).resolves.toBeUndefined();
    expect(l.status('shop')!.lastError).toMatch(/timed out after 3000 ms/);
    await vt.advance(1_000);
    expect(found).toEqual(['shop']);
    l.close();
  });

  it('a permanent first answer fails the first round, naming every such service', async () => {
    const vt = new VirtualTime(0);
    const l = lookup(scriptedApi({ shop: ['missing'], echo: ['missing'] }), vt, [shop, echo], []);
    l.start();
    await expect(l.firstRound).rejects.toThrow(
      /modal\[shop\]: Modal function 'shop-app\/web' not found; modal\[echo\]: Modal function 'echo-app\/web' not found/,
    );
    l.close();
    expect(vt.pending()).toBe(0);
  });

  it('a permanent answer after the first round is retried at the longest backoff (the function may be deployed later)', async () => {
    const vt = new VirtualTime(0);
    const api = scriptedApi({ shop: ['down', 'missing', 'missing', 'ok'] });
    api.vt = vt;
    const found: string[] = [];
    const l = lookup(api, vt, [shop], found);
    l.start();
    await expect(l.firstRound).resolves.toBeUndefined();
    await vt.advance(1_000);
    expect(l.status('shop')).toMatchObject({ permanent: true, found: false });
    await vt.advance(20_000);
    expect(api.calls['shop']).toEqual([0, 1_000, 9_000, 17_000]);
    expect(found).toEqual(['shop']);
    l.close();
  });
});

describe('startModalSide while Modal cannot be reached', () => {
  it('serves a feed that says the function is not looked up yet, then polls once it is', async () => {
    const vt = new VirtualTime(0);
    const api = scriptedApi({ shop: ['down', 'down', 'ok'] });
    const side = startModalSide({
      functions: [shop],
      clock: vt,
      scheduler: vt,
      api,
      poll: { intervalMs: 1_000 },
      lookup: { timeoutMs: 3_000, backoff: { baseMs: 1_000, maxMs: 8_000 }, random: () => 1 },
    });
    await side.firstLookups;
    expect(side.status('shop')).toMatchObject({ lookedUp: false, consecutiveFailures: 1, lookupFailures: 1 });
    expect(side.status('shop')!.lastError).toMatch(/^Modal function not looked up yet: modal\[shop\]: looking up failed: UNAVAILABLE/);
    // An intent declared meanwhile is kept and sent once the function is known.
    await side.actuator.apply('shop', { minContainers: 2 });
    expect(side.actuator.lastResult('shop')).toBeUndefined();
    await vt.advance(3_000);
    const s = side.status('shop')!;
    expect(s.lookedUp).toBe(true);
    expect(s.last?.runners).toBe(1);
    expect(s.consecutiveFailures).toBe(0);
    expect(side.actuator.current('shop')).toEqual({ minContainers: 2 });
    side.close();
  });

  it('says whether a retry is under way or waiting out its delay', async () => {
    const vt = new VirtualTime(0);
    const side = startModalSide({
      functions: [shop],
      clock: vt,
      scheduler: vt,
      api: scriptedApi({ shop: ['down', 'hang'] }),
      poll: { intervalMs: 1_000 },
      lookup: { timeoutMs: 3_000, backoff: { baseMs: 1_000, maxMs: 8_000 }, random: () => 1 },
    });
    await side.firstLookups;
    expect(side.status('shop')).toMatchObject({ lookupFailures: 1, lookupInFlight: false, nextDelayMs: 1_000 });
    await vt.advance(1_000); // the second attempt starts and hangs
    const during = side.status('shop')!;
    expect(during).toMatchObject({ lookupFailures: 1, lookupInFlight: true });
    expect(during.nextDelayMs).toBeUndefined();
    await vt.advance(3_000); // cut by the timeout: waiting again
    expect(side.status('shop')).toMatchObject({ lookupFailures: 2, lookupInFlight: false });
    side.close();
  });
});
