// Operator cordons on in-house endpoints, and the serving capacity they leave. Shared by the resource
// builders (EDS health), the controller inputs and the read model.
import type { InHouseEndpoint } from '../config/config-types.js';
import { endpointKey } from '../config/endpoint-key.js';

export { endpointKey };

/** How a cordoned in-house endpoint is published. */
export const CordonState = {
  /** Takes no new requests (Envoy lets in-flight ones finish). */
  Draining: 'DRAINING',
  /** Soft-cordon: used only if no healthy in-house host is left. */
  Degraded: 'DEGRADED',
} as const;
export type CordonState = (typeof CordonState)[keyof typeof CordonState];

/** Cordons of one service, keyed by endpointKey(). */
export type Cordons = ReadonlyMap<string, CordonState>;

/**
 * Max concurrent requests the fleet takes now: a cordoned endpoint takes no new requests, and a host
 * Envoy is not sending to (health, from LRS) counts only for the Envoys that still use it.
 */
export function servingCapacity(
  endpoints: readonly InHouseEndpoint[],
  cordons: Cordons,
  health?: ReadonlyMap<string, { servingFraction: number }>,
): number {
  let total = 0;
  for (const e of endpoints) {
    const key = endpointKey(e.address, e.port);
    if (cordons.has(key)) continue;
    total += e.capacity * (health?.get(key)?.servingFraction ?? 1);
  }
  return total;
}
