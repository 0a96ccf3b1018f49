import type { SpillwayConfig } from '../../src/config/config-types.js';
import { configFrom } from '../../tools/config-fixtures.js';

/**
 * The benchmark's topology: `services` services, each with 4 in-house endpoints and a Modal
 * endpoint at a fixed IP (no DNS), ADS on a free loopback port. Small CLAs on purpose: the
 * benchmark measures fan-out, not Envoy's cost of a big ClusterLoadAssignment.
 */
export function fanoutConfig(services: number): SpillwayConfig {
  const raw = {
    xds: { listen: '127.0.0.1:0' },
    services: Array.from({ length: services }, (_, i) => {
      const name = `svc-${String(i).padStart(2, '0')}`;
      return {
        name,
        listener: `127.0.0.1:${21000 + i}`,
        in_house: { endpoints: [1, 2, 3, 4].map((h) => ({ address: `10.0.${i}.${h}`, port: 8080, capacity: 8 })) },
        modal: {
          url: `https://ws--${name}.modal.run`,
          connect_address: `192.0.2.${i + 1}`,
          app: 'bench',
          function: name,
          max_containers: 10,
          share: 0.1,
        },
        // Static split: no capacity controller, so no Modal credentials and only the benchmark changes weights.
        capacity: { policy: 'static' },
      };
    }),
  };
  return configFrom(raw);
}

export const serviceName = (i: number): string => `svc-${String(i).padStart(2, '0')}`;
