// The plan contract: what Envoy should do with one service's traffic. The capacity model and operator
// overrides produce plans; the resource builders turn them into EDS. This module owns the one quantiser.
import type { ServiceConfig } from '../config/config-types.js';
import { JsonShapeError, num, obj, oneOf, wholeNumber } from '../core/json-read.js';
import { clamp, round1 } from '../core/numbers.js';

/** Health the Modal endpoint is published with. */
export const ModalHealth = {
  /** Takes its share of traffic by locality weight. */
  Healthy: 'HEALTHY',
  /** Soft-cordoned: Envoy uses it only when the in-house locality cannot serve (a drain in progress). */
  Degraded: 'DEGRADED',
} as const;
export type ModalHealth = (typeof ModalHealth)[keyof typeof ModalHealth];

export interface TrafficPlan {
  /** Locality weight of the in-house fleet; ≥ 1 whenever the fleet has endpoints. */
  inHouseWeight: number;
  /** Locality weight of Modal; 0 means the Modal locality is omitted from the CLA entirely. */
  modalWeight: number;
  modalHealth: ModalHealth;
  /** Share of requests Envoy drops up front with a fast 503 (drop_overloads), 0–100, one decimal. */
  dropPercent: number;
}

/** Total that locality weights are quantised on: shares map to integers summing to this. */
export const WEIGHT_TOTAL = 1000;

/**
 * The one quantiser: a Modal share (0–1) on WEIGHT_TOTAL. A share above 0 never rounds to a weight
 * of 0 (that would drop the locality), and in-house always keeps a weight of at least 1 (Envoy
 * rejects 0). A Modal weight of 0 publishes HEALTHY whatever was asked: there is no endpoint to mark.
 */
export function planForShare(share: number, health: ModalHealth = ModalHealth.Healthy, dropPercent = 0): TrafficPlan {
  const s = clamp(Number.isFinite(share) ? share : 0, 0, 1);
  let modalWeight = Math.round(s * WEIGHT_TOTAL);
  if (s > 0 && modalWeight === 0) modalWeight = 1;
  modalWeight = Math.min(modalWeight, WEIGHT_TOTAL - 1);
  return {
    inHouseWeight: WEIGHT_TOTAL - modalWeight,
    modalWeight,
    modalHealth: modalWeight === 0 ? ModalHealth.Healthy : health,
    dropPercent: round1(clamp(Number.isFinite(dropPercent) ? dropPercent : 0, 0, 100)),
  };
}

/** The plan a service runs when nothing decides for it: its configured static Modal share. */
export function staticPlanFor(service: Pick<ServiceConfig, 'modal'>): TrafficPlan {
  return planForShare(service.modal?.staticShare ?? 0);
}

/** The Modal share a plan's weights describe (0 when the locality is absent). */
export function shareOf(plan: TrafficPlan | undefined): number {
  if (!plan || plan.modalWeight === 0) return 0;
  return plan.modalWeight / (plan.modalWeight + plan.inHouseWeight);
}

export function samePlan(a: TrafficPlan | undefined, b: TrafficPlan): boolean {
  return (
    a !== undefined &&
    a.inHouseWeight === b.inHouseWeight &&
    a.modalWeight === b.modalWeight &&
    a.modalHealth === b.modalHealth &&
    a.dropPercent === b.dropPercent
  );
}

/** Fractions of offered requests a plan sends each way. */
export interface TierShares {
  inHouse: number;
  modal: number;
  dropped: number;
}

/**
 * What each tier receives under a plan, the way Envoy applies it: drop first, then split the rest by
 * locality weight. A DEGRADED Modal endpoint gets traffic only when the in-house locality cannot
 * serve, so its steady-state share is 0 whatever its weight.
 */
export function tierShares(plan: TrafficPlan, hasModal = true): TierShares {
  const dropped = clamp(plan.dropPercent / 100, 0, 1);
  const modalWeight = hasModal && plan.modalHealth === ModalHealth.Healthy ? plan.modalWeight : 0;
  const total = plan.inHouseWeight + modalWeight;
  const modal = total > 0 ? ((1 - dropped) * modalWeight) / total : 0;
  return { inHouse: 1 - dropped - modal, modal, dropped };
}

/** A plan read back from JSON Spillway wrote (saved state, replica records); the publisher validates the rest before serving it. */
export function readPlan(raw: unknown, path: string): TrafficPlan {
  const p = obj(raw, path);
  const dropPercent = num(p['dropPercent'], `${path}.dropPercent`);
  if (dropPercent < 0 || dropPercent > 100) throw new JsonShapeError(`${path}.dropPercent: must be between 0 and 100, got ${dropPercent}`);
  return {
    inHouseWeight: wholeNumber(p['inHouseWeight'], `${path}.inHouseWeight`),
    modalWeight: wholeNumber(p['modalWeight'], `${path}.modalWeight`),
    modalHealth: oneOf(p['modalHealth'], Object.values(ModalHealth), `${path}.modalHealth`),
    dropPercent,
  };
}
