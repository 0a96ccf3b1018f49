// A real topology in one process, for the reaction and overflow benchmarks: the fake Modal (TLS web
// side + the gRPC control side the official SDK polls), in-house backends with limited slots,
// Spillway with the capacity controller, and a real Envoy. Mirrors test/integration/controller-harness.ts,
// with every knob the benchmarks vary exposed.
import { startSpillway, type SpillwayApp } from '../../src/app/spillway-app.js';
import { createLogger } from '../../src/core/logger.js';
import { configFrom } from '../../tools/config-fixtures.js';
import { HEALTH_PATH, startInHouseBackend, type InHouseBackend } from '../../tools/backends/in-house-backend.js';
import type { FakeFunctionSpec } from '../../tools/fake-modal/fake-modal-state.js';
import { startFakeModal, type FakeModal } from '../../tools/fake-modal/start-fake-modal.js';
import { startEnvoy, type EnvoyHandle } from '../../tools/envoy/envoy-process.js';
import { startEtcd } from '../../tools/etcd/etcd-process.js';
import { freePort } from '../../tools/ports.js';
import { waitFor } from '../../tools/wait-for.js';
import { withMergeWindow } from './merge-window-patch.js';

export const SERVICE = 'echo';
export const MODAL_APP = 'spillway-bench';
export const MODAL_HOST = `${MODAL_APP}--${SERVICE}.modal.run`;
const credentials = { tokenId: 'ak-spillwaybench', tokenSecret: 'as-spillwaybenchsecret' };

export interface RigOptions {
  inHouse: { hosts: number; slots: number; queue?: number; serviceMs: number };
  modal: Omit<FakeFunctionSpec, 'appName' | 'functionName'> & { maxInputs: number; maxContainers: number };
  /** Service time of a Modal request that names none (?ms=). */
  modalDefaultServiceMs?: number;
  /** modal.max_containers in Spillway's config; default the fake's maxContainers. */
  configMaxContainers?: number;
  lrsIntervalMs: number;
  tickMs: number;
  pollIntervalMs: number;
  /** modal_api.autoscaler_min_interval_ms; default Spillway's. */
  autoscalerMinIntervalMs?: number;
  /** in_house.probe's interval (Spillway's own check of the backends); undefined = no probe. */
  probeIntervalMs?: number;
  /** The raw `capacity:` mapping, as in a config file. */
  capacity: Record<string, unknown>;
  /** update_merge_window to force on the published cluster; undefined = what Spillway publishes (unset ⇒ Envoy's 1 s). */
  mergeWindowMs?: number;
  /**
   * Replicas on a real etcd (in this process), Envoy attached to the last one started (a follower):
   * the decision then travels leader → etcd → follower → Envoy. Undefined: one Spillway.
   */
  replicas?: number;
}

export interface Rig {
  /** The Spillway that decides and drives Modal (with replicas: the leader). */
  app: SpillwayApp;
  /** The Spillway the Envoy is connected to (with replicas: a follower; else app). */
  attached: SpillwayApp;
  envoy: EnvoyHandle;
  fake: FakeModal;
  inHouse: InHouseBackend[];
  baseUrl: string;
  close(): Promise<void>;
}

export async function startRig(o: RigOptions): Promise<Rig> {
  const closers: Array<() => Promise<void>> = [];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c().catch(() => {});
  };
  try {
    const fake = await startFakeModal({
      functions: [{ appName: MODAL_APP, functionName: SERVICE, ...o.modal }],
      tlsNames: [MODAL_HOST],
      defaultServiceMs: o.modalDefaultServiceMs ?? 0,
    });
    closers.push(() => fake.close());
    const inHouse: InHouseBackend[] = [];
    for (let i = 0; i < o.inHouse.hosts; i++) {
      const b = await startInHouseBackend({
        name: `in-house-${i + 1}`,
        slots: o.inHouse.slots,
        serviceMs: o.inHouse.serviceMs,
        ...(o.inHouse.queue !== undefined ? { queue: o.inHouse.queue } : {}),
      });
      inHouse.push(b);
      closers.push(() => b.close());
    }
    const listenerPort = await freePort();
    const raw = {
      xds: { listen: '127.0.0.1:0' },
      lrs: { interval_ms: o.lrsIntervalMs },
      controller: { tick_ms: o.tickMs },
      modal_api: {
        poll_interval_ms: o.pollIntervalMs,
        timeout_ms: 1000,
        ...(o.autoscalerMinIntervalMs !== undefined ? { autoscaler_min_interval_ms: o.autoscalerMinIntervalMs } : {}),
      },
      admin: { listen: '127.0.0.1:0' },
      metrics: { listen: '127.0.0.1:0' },
      services: [
        {
          name: SERVICE,
          listener: `127.0.0.1:${listenerPort}`,
          in_house: {
            endpoints: inHouse.map((b) => ({ address: '127.0.0.1', port: b.port, capacity: o.inHouse.slots })),
            ...(o.probeIntervalMs !== undefined ? { probe: { path: HEALTH_PATH, interval_ms: o.probeIntervalMs } } : {}),
          },
          modal: {
            url: `https://${MODAL_HOST}:${new URL(fake.httpsUrl).port}`,
            connect_address: '127.0.0.1',
            app: MODAL_APP,
            function: SERVICE,
            max_inputs: o.modal.maxInputs,
            max_containers: o.configMaxContainers ?? o.modal.maxContainers,
            ca_bundle: fake.caPath,
          },
          capacity: o.capacity,
        },
      ],
    };
    const apps: SpillwayApp[] = [];
    if (o.replicas && o.replicas > 1) {
      const etcd = await startEtcd();
      closers.push(() => etcd.close());
      for (let i = 0; i < o.replicas; i++) {
        const ha = { etcd: { endpoints: [etcd.url] }, prefix: '/spillway/bench', lease_ttl_s: 5, replica_id: `replica-${i + 1}` };
        const app = await startSpillway(configFrom({ ...raw, ha }), {
          modalSdk: { credentials, serverUrl: fake.controlUrl },
          ...(process.env['BENCH_LOG'] ? { logger: createLogger({ level: process.env['BENCH_LOG'] }) } : {}),
        });
        closers.push(() => app.stop());
        apps.push(app);
        // The first one started leads.
        if (i === 0) await waitFor(() => app.replica?.status().isLeader, 20_000, 'the first replica to lead');
      }
    } else {
      const app = await startSpillway(configFrom(raw), { modalSdk: { credentials, serverUrl: fake.controlUrl } });
      closers.push(() => app.stop());
      apps.push(app);
    }
    const app = apps[0]!;
    const attached = apps.at(-1)!;
    if (o.mergeWindowMs !== undefined) {
      // Before Envoy connects, so its very first CDS already carries the window.
      for (const a of apps) withMergeWindow(a, o.mergeWindowMs);
    }
    const envoy = await startEnvoy({ xdsPort: attached.xdsPort, nodeId: `envoy-bench-${listenerPort}` });
    closers.push(() => envoy.stop());
    const baseUrl = `http://127.0.0.1:${listenerPort}`;
    await waitFor(async () => (await fetch(`${baseUrl}/?ms=1`)).ok, 30_000, 'traffic through Envoy');
    return { app, attached, envoy, fake, inHouse, baseUrl, close };
  } catch (err) {
    await close();
    throw err;
  }
}
