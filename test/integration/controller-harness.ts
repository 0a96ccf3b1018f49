import { startSpillway, type SpillwayApp } from '../../src/app/spillway-app.js';
import type { Decision } from '../../src/capacity/types.js';
import { configFrom, FREE_PORTS } from '../../tools/config-fixtures.js';
import { startFakeModal, type FakeModal, type FakeModalOptions } from '../../tools/fake-modal/start-fake-modal.js';
import type { FakeFunctionSpec } from '../../tools/fake-modal/fake-modal-state.js';
import { startHttpBackend, type BackendHandle } from '../support/backends.js';
import { startEnvoy, type EnvoyHandle } from '../../tools/envoy/envoy-process.js';
import { freePort } from '../../tools/ports.js';
import { waitFor } from '../../tools/wait-for.js';

export const MODAL_HOST = 'spillway-ctl--echo.modal.run';
const credentials = { tokenId: 'ak-spillwaytest', tokenSecret: 'as-spillwaytestsecret' };

export interface ControllerRig {
  app: SpillwayApp;
  envoy: EnvoyHandle;
  fake: FakeModal;
  inHouse: BackendHandle[];
  url: (ms: number) => string;
  decisions: Decision[];
  close(): Promise<void>;
}

/**
 * Spillway with the capacity controller on, a real Envoy, two in-house backends (4 slots each)
 * and the fake Modal over TLS, all tuned for seconds-long scenarios (fast ticks, short hold and drain).
 */
export async function startControllerRig(opts: {
  modal?: Partial<FakeFunctionSpec>;
  capacity?: Record<string, unknown>;
  maxContainers?: number;
  /** Extra keys of the service's `modal:` block (rate_limit, price_per_container_second, …). */
  modalConfig?: Record<string, unknown>;
  fake?: Partial<FakeModalOptions>;
}): Promise<ControllerRig> {
  const fake = await startFakeModal({
    functions: [{ appName: 'spillway-ctl', functionName: 'echo', coldStartMs: 300, scaledownWindowMs: 4000, ...opts.modal }],
    tlsNames: [MODAL_HOST],
    ...opts.fake,
  });
  const inHouse = await Promise.all([startHttpBackend('inhouse-a'), startHttpBackend('inhouse-b')]);
  const listenerPort = await freePort();
  const raw = {
    ...FREE_PORTS,
    lrs: { interval_ms: 500 },
    controller: { tick_ms: 250 },
    modal_api: { poll_interval_ms: 300, timeout_ms: 1000, reconcile_interval_ms: 1000 },
    services: [
      {
        name: 'echo',
        listener: `127.0.0.1:${listenerPort}`,
        in_house: { endpoints: inHouse.map((b) => ({ address: '127.0.0.1', port: b.port, capacity: 4 })) },
        modal: {
          url: `https://${MODAL_HOST}:${new URL(fake.httpsUrl).port}`,
          connect_address: '127.0.0.1',
          app: 'spillway-ctl',
          function: 'echo',
          max_inputs: opts.modal?.maxInputs ?? 4,
          max_containers: opts.maxContainers ?? opts.modal?.maxContainers ?? 10,
          ca_bundle: fake.caPath,
          ...opts.modalConfig,
        },
        capacity: {
          policy: 'default',
          in_house_service_time_ms: 200,
          modal_service_time_ms: 220,
          stale_after_ms: 2000,
          fast_window_ms: 1000,
          slow_window_ms: 3000,
          hold_ms: 1500,
          cold_start_ms: 1000,
          drain_ms: 1500,
          drain_max_ms: 8000,
          prewarm: { enabled: false },
          ...opts.capacity,
        },
      },
    ],
  };
  const config = configFrom(raw);
  const app = await startSpillway(config, { modalSdk: { credentials, serverUrl: fake.controlUrl } });
  const decisions: Decision[] = [];
  app.onDecision((_s, d) => decisions.push(d));
  const envoy = await startEnvoy({ xdsPort: app.xdsPort, nodeId: `envoy-ctl-${listenerPort}` });
  const base = `http://127.0.0.1:${listenerPort}`;
  await waitFor(async () => (await fetch(`${base}/?ms=1`)).ok, 20_000, 'traffic through Envoy');
  return {
    app,
    envoy,
    fake,
    inHouse,
    url: (ms) => `${base}/work?ms=${ms}`,
    decisions,
    close: async () => {
      await envoy.stop();
      await app.stop();
      await Promise.all(inHouse.map((b) => b.close()));
      await fake.close();
    },
  };
}

/** The Modal locality weight Envoy runs now (0 = absent), from its config dump. */
export async function envoyModalLocality(envoy: EnvoyHandle): Promise<{ weight: number; health?: string }> {
  const modal = (await envoy.localities('echo')).get('modal');
  return modal ? { weight: modal.weight, ...(modal.health ? { health: modal.health } : {}) } : { weight: 0 };
}
