import { afterEach, beforeEach } from 'vitest';
import { startSpillway, type SpillwayApp } from '../../src/app/spillway-app.js';
import { configFrom, FREE_PORTS } from '../../tools/config-fixtures.js';
import type { SpillwayConfig } from '../../src/config/config-types.js';

/** Two services (one with a static Modal share), every port free: for protocol tests without Envoy. */
export const PROTOCOL_TEST_CONFIG = {
  ...FREE_PORTS,
  services: [
    {
      name: 'alpha',
      listener: '127.0.0.1:20001',
      in_house: { endpoints: [{ address: '10.0.0.1', port: 80, capacity: 4 }] },
      modal: { url: 'https://ws--alpha.modal.run', connect_address: '192.0.2.1', app: 'a', function: 'f', max_containers: 2, share: 0.2 },
      capacity: { policy: 'static' },
    },
    { name: 'beta', listener: '127.0.0.1:20002', in_house: { endpoints: [{ address: '10.0.0.2', port: 80, capacity: 4 }] } },
  ],
};

export function protocolTestConfig(): SpillwayConfig {
  return configFrom(PROTOCOL_TEST_CONFIG);
}

/**
 * A fresh Spillway on the protocol-test config for every test, and a factory for ADS clients that
 * are closed after it. Call inside a describe block.
 */
export function useProtocolTestApp<C extends { close(): void }>(
  makeClient: (address: string) => C,
): {
  app: () => SpillwayApp;
  client: () => C;
} {
  let app: SpillwayApp | undefined;
  const clients: C[] = [];
  beforeEach(async () => {
    app = await startSpillway(protocolTestConfig());
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await app?.stop();
  });
  return {
    app: () => app!,
    client: () => {
      const c = makeClient(`127.0.0.1:${app!.xdsPort}`);
      clients.push(c);
      return c;
    },
  };
}
