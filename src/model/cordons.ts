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

/** The endpoints that take new requests: every one an operator has not cordoned. */
export function openEndpoints(endpoints: readonly InHouseEndpoint[], cordons: Cordons): InHouseEndpoint[] {
  return endpoints.filter((e) => !cordons.has(endpointKey(e.address, e.port)));
}

/**
 * Whether the fleet is counted in rates: every endpoint taking new requests states max_rps. Otherwise
 * it is counted in slots. The capacity model and Envoy's endpoint weights both follow this one rule.
 */
export function countedByRate(open: readonly InHouseEndpoint[]): boolean {
  return open.length > 0 && open.every((e) => e.maxRps !== undefined);
}

/**
 * Requests per second the fleet takes now by its endpoints' max_rps, or undefined unless the fleet is
 * counted in rates (countedByRate; then slots over service time is the measure). A host Envoy is not
 * sending to counts only for the Envoys that still use it, as in servingCapacity.
 */
export function servingMaxRps(
  endpoints: readonly InHouseEndpoint[],
  cordons: Cordons,
  health?: ReadonlyMap<string, { servingFraction: number }>,
): number | undefined {
  const serving = openEndpoints(endpoints, cordons);
  if (!countedByRate(serving)) return undefined;
  return serving.reduce((n, e) => n + (e.maxRps ?? 0) * (health?.get(endpointKey(e.address, e.port))?.servingFraction ?? 1), 0);
}

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
