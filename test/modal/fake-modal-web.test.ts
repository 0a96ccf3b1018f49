// The fake Modal's web side over real HTTP and HTTPS: what Envoy's Modal locality talks to.
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeModal, type FakeModal } from '../../tools/fake-modal/start-fake-modal.js';

let fake: FakeModal;

beforeAll(async () => {
  fake = await startFakeModal({
    functions: [
      {
        appName: 'shop-app',
        functionName: 'web',
        coldStartMs: 40,
        maxInputs: 2,
        targetInputs: 2,
        maxContainers: 2,
        scaledownWindowMs: 60_000,
      },
      { appName: 'flash-app', functionName: 'server', mode: 'http-server', coldStartMs: 40, scaledownWindowMs: 60_000 },
    ],
    redirectAfterMs: 150,
    random: () => 0.5,
  });
});

afterAll(async () => {
  await fake?.close();
});

beforeEach(() => fake.setFaults({}));

const flash = { 'x-fake-modal-function': 'flash-app/server' };

interface Served {
  container: string;
  function: string;
  queuedMs: number;
  serviceMs: number;
}

describe('fake Modal web endpoint', () => {
  it('serves over HTTPS with a certificate from the test CA, naming the container', async () => {
    const ca = readFileSync(fake.caPath);
    const { status, headers, body } = await new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
      (resolve, reject) => {
        const req = httpsRequest(`${fake.httpsUrl}/?ms=5`, { ca }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on('error', reject);
        req.end();
      },
    );
    expect(status).toBe(200);
    const served = JSON.parse(body) as Served;
    expect(headers['x-modal-container']).toBe(served.container);
    expect(served.function).toBe('shop-app/web');
  });

  it('queues requests beyond capacity in the backlog, which the state reports', async () => {
    // 2 containers x max_inputs 2 = 4 slots; 6 requests of 100 ms. The two queued ones finish past the
    // 150 ms threshold, so fetch also follows their 303 to the result URL.
    const responses = Array.from({ length: 6 }, () => fetch(`${fake.httpUrl}/?ms=100`));
    let state = fake.state().functions[0];
    for (let i = 0; i < 100 && state?.stats.runningInputs !== 4; i++) {
      await new Promise((r) => setTimeout(r, 10));
      state = fake.state().functions[0];
    }
    expect(state?.stats).toEqual({ backlog: 2, runners: 2, runningInputs: 4, inputHeadroom: 0 });
    const served = await Promise.all(responses.map(async (r) => (await (await r).json()) as Served));
    expect(new Set(served.map((s) => s.container)).size).toBe(2);
    expect(served.filter((s) => s.queuedMs >= 80)).toHaveLength(2);
  });

  it('answers 503 with no live replica in HTTP-server mode, having started one', async () => {
    const first = await fetch(`${fake.httpUrl}/`, { headers: flash });
    expect(first.status).toBe(503);
    expect(fake.state().functions[1]?.stats.runners).toBe(1);
    await new Promise((r) => setTimeout(r, 80));
    const second = await fetch(`${fake.httpUrl}/`, { headers: flash });
    expect(second.status).toBe(200);
    expect(second.headers.get('x-modal-container')).toMatch(/^ta-2-/);
  });

  it('answers 303 past the threshold, and the result URL then yields the result', async () => {
    const first = await fetch(`${fake.httpUrl}/slow?ms=250`, { redirect: 'manual' });
    expect(first.status).toBe(303);
    const location = first.headers.get('location') ?? '';
    expect(location).toMatch(/\/slow\?ms=250&__modal_function_call_id=fc-\d+$/);
    const result = await fetch(location, { redirect: 'manual' });
    expect(result.status).toBe(200);
    expect(((await result.json()) as Served).serviceMs).toBeGreaterThanOrEqual(250);
  });

  it('takes faults over its JSON API and reports them in its state', async () => {
    const set = await fetch(`${fake.httpUrl}/_fake/faults`, {
      method: 'POST',
      body: JSON.stringify({ webErrorRate: 1, webErrorStatus: 502 }),
    });
    expect(set.status).toBe(200);
    expect((await fetch(`${fake.httpUrl}/`)).status).toBe(502);
    const bad = await fetch(`${fake.httpUrl}/_fake/faults`, { method: 'POST', body: JSON.stringify({ nope: true }) });
    expect(bad.status).toBe(400);
    await fetch(`${fake.httpUrl}/_fake/faults`, { method: 'POST', body: JSON.stringify({ outage: true }) });
    expect((await fetch(`${fake.httpUrl}/`)).status).toBe(503);
    const state = (await (await fetch(`${fake.httpUrl}/_fake/state`)).json()) as ReturnType<FakeModal['state']>;
    expect(state.faults).toEqual({ outage: true });
    expect(state.functions.map((f) => f.functionId)).toEqual(['fu-fake1', 'fu-fake2']);
    expect(state.functions[0]?.billing.containerSeconds).toBeGreaterThan(0);
  });
});
