import { startSpillway, type SpillwayApp } from '../../src/app/spillway-app.js';
import type { SpillwayConfig } from '../../src/config/config-types.js';
import { configFrom } from '../../tools/config-fixtures.js';
import { startHttpBackend, startTlsBackend, type BackendHandle } from '../support/backends.js';
import { makeTestPki, type TestPki } from '../../tools/pki.js';
import { freePort } from '../../tools/ports.js';

export const MODAL_HOST = 'spillway-test--echo.modal.run';

export interface Topology {
  pki: TestPki;
  inHouse: BackendHandle[];
  modal: BackendHandle;
  listenerPort: number;
  rawConfig: Record<string, any>;
  config: SpillwayConfig;
  close(): Promise<void>;
}

/** Two in-house HTTP backends, a TLS Modal stand-in (its own CA), and a config describing them. */
export async function startTopology(opts: { xdsPort?: number; share?: number } = {}): Promise<Topology> {
  const pki = makeTestPki([MODAL_HOST]);
  const inHouse = await Promise.all([startHttpBackend('inhouse-a'), startHttpBackend('inhouse-b')]);
  const modal = await startTlsBackend('modal', pki);
  const listenerPort = await freePort();
  const rawConfig = {
    xds: { listen: `127.0.0.1:${opts.xdsPort ?? 0}` },
    admin: { listen: '127.0.0.1:0' },
    metrics: { listen: '127.0.0.1:0' },
    services: [
      {
        name: 'echo',
        listener: `127.0.0.1:${listenerPort}`,
        in_house: { endpoints: inHouse.map((b) => ({ address: '127.0.0.1', port: b.port, capacity: 8 })) },
        modal: {
          url: `https://${MODAL_HOST}:${modal.port}`,
          connect_address: '127.0.0.1',
          app: 'spillway-test',
          function: 'echo',
          max_inputs: 4,
          max_containers: 4,
          ca_bundle: pki.caPath,
          share: opts.share ?? 0,
        },
        // These suites drive the shares themselves; the controller has its own suite.
        capacity: { policy: 'static' },
      },
    ],
  };
  const config = configFrom(rawConfig);
  return {
    pki,
    inHouse,
    modal,
    listenerPort,
    rawConfig,
    config: config,
    close: async () => {
      await Promise.all([...inHouse, modal].map((b) => b.close()));
      pki.cleanup();
    },
  };
}

export async function startApp(config: SpillwayConfig): Promise<SpillwayApp> {
  return startSpillway(config);
}
