/**
 * What the capacity controller wants Envoy to do for one service: the contract between the
 * capacity model (which decides) and the resource builders (which turn it into EDS).
 */
export interface TrafficPlan {
  /** Locality weight of the in-house fleet; ≥ 1 whenever the fleet has endpoints. */
  inHouseWeight: number;
  /** Locality weight of Modal; 0 means the Modal locality is omitted from the CLA entirely. */
  modalWeight: number;
  /**
   * Health status of the Modal endpoint: DEGRADED makes Envoy use it only when the in-house
   * locality cannot serve (soft-cordon while draining).
   */
  modalHealth: 'HEALTHY' | 'DEGRADED';
  /** Share of requests Envoy drops up front with a fast 503 (drop_overloads), 0–100. */
  dropPercent: number;
}

/** Total that locality weights are quantised on: shares map to integers summing to this. */
export const WEIGHT_TOTAL = 1000;

/** A plan that sends a fraction (0–1) of traffic to Modal, quantised on WEIGHT_TOTAL. */
export function planForModalShare(share: number): TrafficPlan {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(share) ? share : 0));
  const modalWeight = Math.round(clamped * WEIGHT_TOTAL);
  return {
    inHouseWeight: Math.max(1, WEIGHT_TOTAL - modalWeight),
    modalWeight,
    modalHealth: 'HEALTHY',
    dropPercent: 0,
  };
}
