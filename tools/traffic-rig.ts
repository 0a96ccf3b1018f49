// Real Envoy in front of in-house backends (tools/backends) and the fake Modal's TLS web side, with
// Spillway publishing a static split the tests set themselves: the rig for the traffic Modal gets
// (sticky sessions, long requests, big bodies, WebSockets, 429s).
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { startSpillway, type SpillwayApp } from '../src/app/spillway-app.js';
import type { TrafficPlan } from '../src/model/traffic-plan.js';
import { startInHouseBackend, type InHouseBackend } from './backends/in-house-backend.js';
import { startEnvoy, type EnvoyHandle } from './envoy/envoy-process.js';
import type { FakeFunctionSpec } from './fake-modal/fake-modal-state.js';
import { startFakeModal, type FakeModal, type FakeModalOptions } from './fake-modal/start-fake-modal.js';
import { waitFor } from './wait-for.js';
import { configFrom, FREE_PORTS } from './config-fixtures.js';
import { freePort } from './ports.js';

export const MODAL_HOST = 'spillway-traffic--echo.modal.run';
/** The header Envoy names a session's host in (Spillway's default). */
export const PIN_HEADER = 'x-spillway-upstream';

export interface TrafficRig {
  app: SpillwayApp;
  envoy: EnvoyHandle;
  fake: FakeModal;
  inHouse: InHouseBackend[];
  /** http://127.0.0.1:<Envoy listener> */
  base: string;
  modalPort: number;
  /** The pin header value that sends a request to this host (how Envoy encodes one: base64 of "ip:port"). */
  pinInHouse(i: number): string;
  pinModal(): string;
  /** Publishes a plan and waits until Envoy runs it. */
  setPlan(plan: TrafficPlan): Promise<void>;
  /** Fetches a URL on Modal's own host (what a client following a 303 does), resolving it to the fake. */
  fetchModalUrl(url: string): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

export async function startTrafficRig(
  opts: {
    modal?: Partial<FakeFunctionSpec>;
    fake?: Partial<FakeModalOptions>;
    service?: Record<string, unknown>;
    modalConfig?: Record<string, unknown>;
    inHouse?: number;
    apiType?: 'GRPC' | 'DELTA_GRPC';
  } = {},
): Promise<TrafficRig> {
  const fake = await startFakeModal({
    functions: [{ appName: 'spillway-traffic', functionName: 'echo', coldStartMs: 50, maxInputs: 64, targetInputs: 64, ...opts.modal }],
    tlsNames: [MODAL_HOST],
    rateLimit: { rps: 100_000, burst: 5 },
    ...opts.fake,
  });
  const inHouse = await Promise.all(
    Array.from({ length: opts.inHouse ?? 2 }, (_, i) => startInHouseBackend({ name: `inhouse-${i + 1}`, slots: 256, queue: 256 })),
  );
  const listenerPort = await freePort();
  const modalPort = Number(new URL(fake.httpsUrl).port);
  const config = configFrom({
    ...FREE_PORTS,
    services: [
      {
        name: 'echo',
        listener: `127.0.0.1:${listenerPort}`,
        in_house: { endpoints: inHouse.map((b) => ({ address: '127.0.0.1', port: b.port, capacity: 64 })) },
        modal: {
          url: `https://${MODAL_HOST}:${modalPort}`,
          connect_address: '127.0.0.1',
          app: 'spillway-traffic',
          function: 'echo',
          max_inputs: 64,
          max_containers: 10,
          ca_bundle: fake.caPath,
          ...opts.modalConfig,
        },
        capacity: { policy: 'static' },
        ...opts.service,
      },
    ],
  });
  const app = await startSpillway(config);
  const envoy = await startEnvoy({ xdsPort: app.xdsPort, nodeId: `envoy-traffic-${listenerPort}`, apiType: opts.apiType ?? 'GRPC' });
  const base = `http://127.0.0.1:${listenerPort}`;
  await waitFor(async () => (await fetch(`${base}/?ms=1`)).ok, 20_000, 'traffic through Envoy');
  const pin = (port: number): string => Buffer.from(`127.0.0.1:${port}`).toString('base64');
  const ca = readFileSync(fake.caPath);
  return {
    app,
    envoy,
    fake,
    inHouse,
    base,
    modalPort,
    pinInHouse: (i) => pin(inHouse[i]!.port),
    pinModal: () => pin(modalPort),
    async setPlan(plan) {
      const r = app.publisher.setPlan('echo', plan);
      if (!r.ok) throw new Error(r.errors.join('; '));
      await waitFor(
        async () => {
          const m = (await envoy.localities('echo')).get('modal');
          return plan.modalWeight === 0 ? m === undefined : m?.weight === plan.modalWeight && (m.health ?? 'HEALTHY') === plan.modalHealth;
        },
        15_000,
        `Envoy to run Modal weight ${plan.modalWeight} ${plan.modalHealth}`,
      );
    },
    fetchModalUrl: (url) =>
      new Promise((resolve, reject) => {
        const u = new URL(url);
        // Like curl --resolve: Modal's hostname on port 443 is the fake on loopback.
        const req = httpsRequest(
          { host: '127.0.0.1', port: modalPort, path: `${u.pathname}${u.search}`, servername: u.hostname, headers: { host: u.host }, ca },
          (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end();
      }),
    close: async () => {
      await envoy.stop();
      await app.stop();
      await Promise.all(inHouse.map((b) => b.close()));
      await fake.close();
    },
  };
}

/** Where a response came from: an in-house host's name, or "modal:<container>". */
export function servedBy(res: Response): string {
  const container = res.headers.get('x-modal-container');
  if (container) return `modal:${container}`;
  return res.headers.get('x-served-by') ?? `envoy:${res.status}`;
}
