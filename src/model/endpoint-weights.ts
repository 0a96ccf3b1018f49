// How Envoy splits the in-house locality among its endpoints, in the capacity model's own terms.
// One owner: the EDS builder publishes these weights and host health expects traffic by them.
import type { InHouseEndpoint } from '../config/config-types.js';
import { countedByRate, openEndpoints, type Cordons } from './cordons.js';

/** Envoy requires a locality's endpoint weights to sum within uint32; stay well inside it. */
const MAX_WEIGHT_SUM = 1e9;
/** The smallest rate's weight, when the sum allows: rounding then moves a share by ≤ 0.05 %. */
const SMALLEST_RATE_WEIGHT = 1000;

/**
 * By max_rps when the fleet is counted in rates (countedByRate, the capacity model's own rule),
 * otherwise by slots: an even split would overload the slowest host before the fleet reached its
 * sum. Cordoned hosts without a rate get weight 1 (Envoy only sends them what their health status
 * allows).
 */
export function inHouseEndpointWeight(endpoints: readonly InHouseEndpoint[], cordons: Cordons): (e: InHouseEndpoint) => number {
  if (!countedByRate(openEndpoints(endpoints, cordons))) return (e) => e.capacity;
  const rates = endpoints.flatMap((e) => (e.maxRps === undefined ? [] : [e.maxRps]));
  const sum = rates.reduce((n, r) => n + r, 0);
  const scale = Math.min(SMALLEST_RATE_WEIGHT / Math.min(...rates), MAX_WEIGHT_SUM / sum);
  return (e) => (e.maxRps === undefined ? 1 : Math.max(1, Math.round(e.maxRps * scale)));
}
