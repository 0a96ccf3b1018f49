// What Envoy really does with locality weights when in-house hosts are unhealthy, and the correction
// that makes the traffic each tier receives equal the plan. Measured on Envoy 1.40: a locality's
// effective weight is weight × min(1, overprovisioning_factor/100 × eligible/(all − excluded)), where
// UNHEALTHY and DEGRADED hosts stay in the denominator and DRAINING hosts are excluded from it.

/** Envoy's default overprovisioning factor, in percent (ClusterLoadAssignment.policy.overprovisioning_factor). */
export const DEFAULT_OVERPROVISIONING_FACTOR = 140;

export interface LocalityWeights {
  inHouseWeight: number;
  modalWeight: number;
}

/**
 * The factor Envoy scales a locality's weight by: min(1, factor/100 × healthy fraction). Above
 * 100/factor healthy (≈ 71 % at the default) a locality keeps its whole weight.
 */
export function localityHealthScale(healthyFraction: number, overprovisioningFactor = DEFAULT_OVERPROVISIONING_FACTOR): number {
  const h = Number.isFinite(healthyFraction) ? Math.min(1, Math.max(0, healthyFraction)) : 1;
  return Math.min(1, (overprovisioningFactor / 100) * h);
}

/** The in-house locality's weight as Envoy applies it. */
export function effectiveInHouseWeight(
  weight: number,
  inHouseHealthyFraction: number,
  overprovisioningFactor = DEFAULT_OVERPROVISIONING_FACTOR,
): number {
  return weight * localityHealthScale(inHouseHealthyFraction, overprovisioningFactor);
}

/** The Modal share Envoy actually runs for these weights (no drops): W_m / (W_m + W_in × scale). */
export function effectiveModalShare(
  w: LocalityWeights,
  inHouseHealthyFraction: number,
  overprovisioningFactor = DEFAULT_OVERPROVISIONING_FACTOR,
): number {
  if (w.modalWeight <= 0) return 0;
  const inHouse = effectiveInHouseWeight(w.inHouseWeight, inHouseHealthyFraction, overprovisioningFactor);
  return w.modalWeight / (w.modalWeight + inHouse);
}

/**
 * The weights to publish so that Envoy's effective split equals the planned one: the in-house weight
 * is divided by the scale Envoy will multiply it by (Modal's weight is left as quantised, so a small
 * share keeps its precision). With no eligible in-house host no weight helps (Envoy sends everything
 * to Modal); the plan's weights are returned unchanged and the policy's shedding has to bound Modal.
 */
export function weightsForShare(
  plan: LocalityWeights,
  inHouseHealthyFraction: number,
  overprovisioningFactor = DEFAULT_OVERPROVISIONING_FACTOR,
): LocalityWeights {
  const scale = localityHealthScale(inHouseHealthyFraction, overprovisioningFactor);
  if (plan.modalWeight <= 0 || scale >= 1 || scale <= 0) return { inHouseWeight: plan.inHouseWeight, modalWeight: plan.modalWeight };
  return { inHouseWeight: Math.max(1, Math.round(plan.inHouseWeight / scale)), modalWeight: plan.modalWeight };
}
