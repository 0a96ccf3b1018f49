// How Envoy splits the in-house locality among its endpoints, in the capacity model's own terms.
// One owner: the EDS builder publishes these weights and host health expects traffic by them.
import type { InHouseEndpoint } from '../config/config-types.js';

/**
 * By max_rps when every endpoint has one (the model then counts the fleet in rates, and an even split
 * would overload the slowest host before the fleet reached its sum), otherwise by slots. Rates are
 * scaled so the largest is 1,000: integer weights within 0.1 %, never 0, never near Envoy's uint32 sum.
 */
export function inHouseEndpointWeight(endpoints: readonly InHouseEndpoint[]): (e: InHouseEndpoint) => number {
  const byRate = endpoints.length > 0 && endpoints.every((e) => e.maxRps !== undefined);
  if (!byRate) return (e) => e.capacity;
  const largest = Math.max(...endpoints.map((e) => e.maxRps!));
  return (e) => Math.max(1, Math.round((1000 * e.maxRps!) / largest));
}
