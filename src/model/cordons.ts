// Operator cordons on in-house endpoints, and the serving capacity they leave. Shared by the resource
// builders (EDS health), the controller inputs and the read model.
import type { InHouseEndpoint } from '../config/config-types.js';

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

export const endpointKey = (address: string, port: number): string => `${address}:${port}`;

/**
 * Requests per second the fleet takes now by its endpoints' max_rps, or undefined unless every
 * endpoint that takes new requests states one (then slots over service time is the measure).
 */
export function servingMaxRps(endpoints: readonly InHouseEndpoint[], cordons: Cordons): number | undefined {
  const serving = endpoints.filter((e) => !cordons.has(endpointKey(e.address, e.port)));
  if (serving.length === 0 || serving.some((e) => e.maxRps === undefined)) return undefined;
  return serving.reduce((n, e) => n + (e.maxRps ?? 0), 0);
}

/** Max concurrent requests the fleet takes now: a cordoned endpoint takes no new requests. */
export function servingCapacity(endpoints: readonly InHouseEndpoint[], cordons: Cordons): number {
  return endpoints.filter((e) => !cordons.has(endpointKey(e.address, e.port))).reduce((n, e) => n + e.capacity, 0);
}
