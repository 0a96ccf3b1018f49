// Which tier answered a response, from its headers alone: the in-house backends name themselves, the
// fake Modal names its container, and what carries neither came from Envoy itself.
import { CONTAINER_HEADER } from '../fake-modal/web-server.js';

export const TIERS = ['in_house', 'modal', 'shed', 'other'] as const;
export type Tier = (typeof TIERS)[number];

export interface TierRules {
  /** `x-served-by` values starting with one of these are in-house (besides `x-tier: in-house`). */
  inHousePrefixes: string[];
  /** Present on every response a Modal container served. */
  modalHeader: string;
}

export const DEFAULT_TIER_RULES: TierRules = { inHousePrefixes: ['in-house'], modalHeader: CONTAINER_HEADER };

export interface Attribution {
  tier: Tier;
  /** The in-house host or Modal container that answered, when named. */
  server?: string;
}

type Headers = Record<string, string | string[] | undefined>;

/**
 * - modal: the Modal container header is present.
 * - in_house: `x-tier: in-house`, or `x-served-by` starting with an in-house prefix (any status,
 *   so an overloaded host's own 503 is in-house, not shed).
 * - shed: a 503 or 429 Envoy made on purpose: `x-envoy-drop-overload` (Spillway's deliberate
 *   shedding), `x-envoy-overloaded` (a circuit breaker), `x-envoy-ratelimited`.
 * - other: anything else — Envoy's "no healthy upstream" and connect-failure replies, a Modal 503
 *   before any container took it, a 303 result redirect, a 404.
 */
export function attributeResponse(status: number, headers: Headers, rules: TierRules = DEFAULT_TIER_RULES): Attribution {
  const container = first(headers[rules.modalHeader]);
  if (container !== undefined) return { tier: 'modal', server: container };
  const servedBy = first(headers['x-served-by']);
  if (first(headers['x-tier']) === 'in-house' || (servedBy !== undefined && rules.inHousePrefixes.some((p) => servedBy.startsWith(p)))) {
    return servedBy !== undefined ? { tier: 'in_house', server: servedBy } : { tier: 'in_house' };
  }
  if (status === 503 || status === 429) {
    const deliberate = ['x-envoy-drop-overload', 'x-envoy-overloaded', 'x-envoy-ratelimited'].some((h) => headers[h] !== undefined);
    if (deliberate) return { tier: 'shed' };
  }
  return servedBy !== undefined ? { tier: 'other', server: servedBy } : { tier: 'other' };
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
