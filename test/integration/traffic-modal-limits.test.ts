// Modal's rate limit and its price, through a real Envoy and the fake Modal: a 429 from Modal is
// retried on an in-house host (with the in-house Host, not Modal's) and never reaches the client;
// the controller treats the rate limit as a ceiling on the Modal share and says so; the container
// count turns into a live cost in GetState and the metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { State__Output } from '../../src/generated/spillway/admin/v1/State.js';
import { loadAdminProtos } from '../../src/admin/admin-protos.js';
import * as grpc from '@grpc/grpc-js';
import { planForShare, shareOf } from '../../src/model/traffic-plan.js';
import { waitFor } from '../../tools/wait-for.js';
import { unary } from '../admin/harness.js';
import { startOpenLoad } from '../support/open-loop.js';
import { envoyModalLocality, startControllerRig, type ControllerRig } from './controller-harness.js';
import { servedBy, startTrafficRig, type TrafficRig } from '../../tools/traffic-rig.js';

describe("a 429 from Modal's rate limit is retried in-house", () => {
  let rig: TrafficRig;
  beforeAll(async () => {
    // A workspace limit of 1 request per second (burst 5): nearly all of ~200 Modal requests are refused, however slow the machine.
    rig = await startTrafficRig({ fake: { rateLimit: { rps: 1, burst: 5 } }, service: { route: { sticky: { mode: 'off' } } } });
    await rig.setPlan(planForShare(0.5));
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('answers every request from in-house instead, with the in-house Host, and Envoy counts the retries', async () => {
    const statuses = new Map<number, number>();
    const hosts = new Set<string>();
    const forwarded = new Set<string>();
    let modal = 0;
    const one = async (): Promise<void> => {
      const res = await fetch(`${rig.base}/infer`);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const body = (await res.json()) as { host?: string; forwardedHost?: string };
      if (servedBy(res).startsWith('modal:')) modal++;
      else {
        hosts.add(body.host ?? '');
        forwarded.add((body.forwardedHost ?? '').split(',')[0]!);
      }
    };
    for (let i = 0; i < 20; i++) await Promise.all(Array.from({ length: 20 }, one));
    expect(Object.fromEntries(statuses)).toEqual({ 200: 400 });
    expect(rig.fake.state().rateLimit.refused).toBeGreaterThan(100);
    expect(modal).toBeLessThan(60);
    // In-house hosts got their own address as Host, never Modal's (retries included), and the client's in X-Forwarded-Host.
    expect(hosts).toEqual(new Set(rig.inHouse.map((b) => `127.0.0.1:${b.port}`)));
    expect(forwarded).toEqual(new Set([new URL(rig.base).host]));
    const stats = await rig.envoy.stats('cluster.echo.');
    expect(stats['cluster.echo.upstream_rq_retry']).toBe(rig.fake.state().rateLimit.refused);
    expect(stats['cluster.echo.upstream_rq_retry_success']).toBe(rig.fake.state().rateLimit.refused);
    expect(stats['cluster.echo.retry.upstream_rq_429']).toBe(rig.fake.state().rateLimit.refused);
  });
});

describe('the controller with a rate-limited, priced Modal', () => {
  let rig: ControllerRig;
  beforeAll(async () => {
    rig = await startControllerRig({
      fake: { rateLimit: { rps: 10, burst: 2 } },
      modalConfig: { rate_limit: { rps: 10, burst: 2 }, price_per_container_second: 0.001 },
    });
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  it('caps the Modal share at the rate limit, names it in the reason, never passes a 429 on, and shows the live cost', async () => {
    // 80 rps against 32 rps of in-house target: without the limit Modal would take most of the excess.
    const load = startOpenLoad(rig.url(200), 80);
    try {
      await waitFor(
        () => rig.app.controller!.current('echo')!.reason.includes("Modal's rate limit 10 rps"),
        20_000,
        'a rate-limited decision',
      );
      const d = rig.app.controller!.current('echo')!;
      // Share × demand stays within 10 rps, where warm capacity alone would allow ~60 % of 80 rps.
      const demand = Math.max(d.inputs['lambda_fast_rps']!.value, d.inputs['lambda_slow_rps']!.value);
      expect(shareOf(d.plan) * demand).toBeLessThanOrEqual(10.5);
      expect((await envoyModalLocality(rig.envoy)).weight).toBeLessThan(300);
      load.reset();
      await new Promise((r) => setTimeout(r, 3000));
      expect(load.stats().statuses['429'] ?? 0).toBe(0);
      expect(load.stats().byTier.modal).toBeGreaterThan(0);

      // Live cost: containers now × $0.001 per second, and what they have cost since start.
      const { protos } = loadAdminProtos();
      const admin = new protos.spillway.admin.v1.Admin(`127.0.0.1:${rig.app.adminPort}`, grpc.credentials.createInsecure());
      try {
        const { res } = await unary<object, State__Output>(admin.GetState.bind(admin), { service: 'echo' });
        const cost = res!.services[0]!.modal_cost!;
        const runners = res!.services[0]!.modal_stats!.runners;
        expect(runners).toBeGreaterThan(0);
        expect(cost.price_per_container_second).toBe(0.001);
        expect(cost.dollars_per_hour).toBeCloseTo(runners * 0.001 * 3600, 6);
        expect(cost.dollars_since_start).toBeGreaterThan(0);
        expect(cost.dollars_today).toBeGreaterThan(0);
      } finally {
        admin.close();
      }
      const metrics = await (await fetch(`http://127.0.0.1:${rig.app.metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/^spillway_modal_cost_dollars_per_hour\{service="echo"\} [1-9]/m);
      expect(metrics).toMatch(/^spillway_modal_cost_dollars_total\{service="echo"\} 0\.\d*[1-9]/m);
    } finally {
      await load.stop();
    }
  });
});
