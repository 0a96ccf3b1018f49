// Spillway starts whatever Modal's API is doing: a transient failure starts the service in its
// fail-safe and retries the lookup until it succeeds (visible in health, metrics and admin); a
// permanent one still stops start-up, naming the service.
import { createConnection } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startSpillway, type SpillwayApp } from '../../src/app/spillway-app.js';
import type { HealthCheckResponse__Output } from '../../src/generated/grpc/health/v1/HealthCheckResponse.js';
import type { State__Output } from '../../src/generated/spillway/admin/v1/State.js';
import { configFrom, FREE_PORTS } from '../../tools/config-fixtures.js';
import { startFakeModal, type FakeModal } from '../../tools/fake-modal/start-fake-modal.js';
import { freePort } from '../../tools/ports.js';
import { waitFor } from '../../tools/wait-for.js';
import { unary } from '../admin/harness.js';
import { loadAdminProtos } from '../../src/admin/admin-protos.js';
import * as grpc from '@grpc/grpc-js';

const credentials = { tokenId: 'ak-spillwaystart', tokenSecret: 'as-spillwaystartsecret' };

function config(fn = 'echo') {
  return configFrom({
    ...FREE_PORTS,
    controller: { tick_ms: 200 },
    modal_api: { poll_interval_ms: 200, timeout_ms: 500 },
    services: [
      {
        name: 'echo',
        listener: '127.0.0.1:20021',
        in_house: { endpoints: [{ address: '10.0.0.1', port: 80, capacity: 4 }] },
        modal: { url: 'https://ws--echo.modal.run', connect_address: '192.0.2.1', app: 'spillway-start', function: fn, max_containers: 2 },
        capacity: { policy: 'default', fail_after_errors: 2 },
      },
    ],
  });
}

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });

describe('start-up whatever Modal is doing', () => {
  let app: SpillwayApp | undefined;
  let fake: FakeModal | undefined;
  afterEach(async () => {
    await app?.stop();
    await fake?.close();
    app = undefined;
    fake = undefined;
  });

  it('Modal unreachable: serves xDS in the fail-safe, says why everywhere, and picks Modal up when it appears', async () => {
    const modalPort = await freePort();
    app = await startSpillway(config(), {
      modalSdk: { credentials, serverUrl: `http://127.0.0.1:${modalPort}` },
      modalLookup: { backoff: { baseMs: 200, maxMs: 500 } },
    });
    expect(await accepts(app.xdsPort)).toBe(true);
    const view = () => app!.read.service('echo')!;
    expect(view().modalStats?.lookedUp).toBe(false);
    await waitFor(() => (view().modalStats?.lookupFailures ?? 0) >= 2, 20_000, 'two failed lookups');
    expect(view().reason).toMatch(
      /^Modal function not looked up yet: modal\[echo\]: looking up Modal function 'spillway-start\/echo' (failed: .*UNAVAILABLE.*|timed out after 1500 ms) \(\d+ failed attempts; (retrying in \d+ s|retry under way)\)/,
    );
    expect(view().reason).not.toMatch(/Resolution note/);
    expect(view().plan.modalWeight).toBe(0);

    // Health: the control plane is ready (xDS from a consistent snapshot); the service is not fresh.
    const { protos } = loadAdminProtos();
    const address = `127.0.0.1:${app.adminPort}`;
    const health = new protos.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
    const admin = new protos.spillway.admin.v1.Admin(address, grpc.credentials.createInsecure());
    try {
      const check = async (service: string) =>
        (await unary<object, HealthCheckResponse__Output>(health.Check.bind(health), { service })).res?.status;
      await waitFor(async () => (await check('')) === 'SERVING', 5_000, 'overall SERVING');
      expect(await check('echo')).toBe('NOT_SERVING');
      const state = (await unary<object, State__Output>(admin.GetState.bind(admin), {})).res!;
      expect(state.services[0]!.modal_stats!.looked_up).toBe(false);
      expect(state.services[0]!.reason).toMatch(/not looked up yet/);
      const metrics = await (await fetch(`http://127.0.0.1:${app.metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/spillway_modal_function_looked_up\{service="echo"\} 0/);
      expect(metrics).toMatch(/spillway_modal_lookup_errors_total\{service="echo"\} [1-9]/);
      // Failure series exist from the start, so increase() sees the first one.
      expect(metrics).toMatch(/spillway_modal_poll_errors_total\{service="echo",reason="rate_limited"\} 0/);

      // Modal's API comes up: the lookup succeeds on a retry and stats flow.
      fake = await startFakeModal({
        credentials,
        controlPort: modalPort,
        functions: [{ appName: 'spillway-start', functionName: 'echo' }],
      });
      await waitFor(() => view().modalStats?.last !== undefined, 20_000, 'stats after the lookup succeeded');
      expect(view().modalStats?.lookedUp).toBe(true);
      expect(view().reason).not.toMatch(/not looked up/);
      await waitFor(async () => (await check('echo')) === 'SERVING', 10_000, 'echo SERVING once Modal is observed');
      const after = await (await fetch(`http://127.0.0.1:${app.metricsPort}/metrics`)).text();
      expect(after).toMatch(/spillway_modal_function_looked_up\{service="echo"\} 1/);

      // What failed is in the metrics: Modal rate limiting the stats polls is not an outage, and
      // the autoscaler's calls are counted too.
      const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${app!.metricsPort}/metrics`)).text();
      fake.setFaults({ statsError: 'RESOURCE_EXHAUSTED' });
      await waitFor(
        async () => /spillway_modal_poll_errors_total\{service="echo",reason="rate_limited"\} [1-9]/.test(await scrape()),
        10_000,
        'a rate-limited poll counted',
      );
      fake.setFaults({});
      await app.modal!.actuator.apply('echo', { minContainers: 1 });
      await waitFor(
        async () => /spillway_modal_autoscaler_calls_total\{service="echo",call="update"\} [1-9]/.test(await scrape()),
        10_000,
        'an update counted',
      );
      // Down: the SDK retries UNAVAILABLE within the call, which modal_api.timeout_ms (500 ms here) may cut first.
      fake.setFaults({ apiOutage: true });
      await app.modal!.actuator.apply('echo', { minContainers: 2 });
      await waitFor(
        async () =>
          /spillway_modal_autoscaler_errors_total\{service="echo",call="update",reason="(?:unavailable|timeout)"\} [1-9]/.test(
            await scrape(),
          ),
        20_000,
        'a failed update counted',
      );
    } finally {
      health.close();
      admin.close();
    }
  });

  it('an unknown function still stops start-up with a message naming the service, and leaves nothing listening', async () => {
    fake = await startFakeModal({ credentials, functions: [{ appName: 'spillway-start', functionName: 'echo' }] });
    const xdsPort = await freePort();
    const cfg = config('missing');
    cfg.xds.listen = { host: '127.0.0.1', port: xdsPort };
    await expect(startSpillway(cfg, { modalSdk: { credentials, serverUrl: fake.controlUrl } })).rejects.toThrow(
      "modal[echo]: Modal function 'spillway-start/missing' not found",
    );
    expect(await accepts(xdsPort)).toBe(false);
  });
});
