// What one endpoint source serves, and the rule that keeps bad discovery data from emptying a
// locality by accident. Pure: every step is told the time.
//
// - A good answer replaces the set.
// - An answer that empties a source that had hosts (an empty DNS answer, a file with zero targets,
//   a missing file) is believed only after the grace period; until then the last good set serves.
// - A failure (resolver timeout or SERVFAIL, a file that does not parse) carries no data, so it never
//   empties anything: the last good set serves for as long as it lasts, reported stale.
import type { InHouseEndpoint } from '../config/config-types.js';

export const SourceHealth = {
  /** No answer yet. */
  Pending: 'PENDING',
  /** Serving what the source last said. */
  Ok: 'OK',
  /** Serving the last good set while the source fails or answers empty. */
  Stale: 'STALE',
} as const;
export type SourceHealth = (typeof SourceHealth)[keyof typeof SourceHealth];

export interface SourceState {
  /** What the source is, for people: "dns fleet.internal:8080", "file /etc/fleet.json". */
  source: string;
  health: SourceHealth;
  /** The endpoints in force. */
  endpoints: readonly InHouseEndpoint[];
  /** Why the source is stale (or the last problem while pending). */
  problem?: string;
  /** When the current bad spell began. */
  badSinceMs?: number;
  /** For an emptying answer: when it will be believed. */
  graceEndsAtMs?: number;
  /** When the source last gave a good answer. */
  lastGoodAtMs?: number;
}

export type SourceOutcome = { kind: 'answer'; endpoints: readonly InHouseEndpoint[] } | { kind: 'failure'; problem: string };

export function initialSourceState(source: string): SourceState {
  return { source, health: SourceHealth.Pending, endpoints: [] };
}

export function nextSourceState(prev: SourceState, outcome: SourceOutcome, nowMs: number, graceMs: number): SourceState {
  const lastGood = prev.lastGoodAtMs !== undefined ? { lastGoodAtMs: prev.lastGoodAtMs } : {};
  if (outcome.kind === 'failure') {
    const badSinceMs = prev.badSinceMs ?? nowMs;
    if (prev.health === SourceHealth.Pending) {
      return { source: prev.source, health: SourceHealth.Pending, endpoints: [], problem: outcome.problem, badSinceMs };
    }
    return {
      source: prev.source,
      ...lastGood,
      health: SourceHealth.Stale,
      endpoints: prev.endpoints,
      problem: `${outcome.problem}; keeping the last good ${prev.endpoints.length} endpoint(s)`,
      badSinceMs,
    };
  }
  const emptying = outcome.endpoints.length === 0 && prev.endpoints.length > 0;
  if (!emptying) return { source: prev.source, health: SourceHealth.Ok, endpoints: outcome.endpoints, lastGoodAtMs: nowMs };
  // The grace period counts from the first emptying answer, not from an earlier failure.
  const badSinceMs = prev.graceEndsAtMs !== undefined && prev.badSinceMs !== undefined ? prev.badSinceMs : nowMs;
  const graceEndsAtMs = badSinceMs + graceMs;
  if (nowMs >= graceEndsAtMs) return { source: prev.source, health: SourceHealth.Ok, endpoints: [], lastGoodAtMs: nowMs };
  return {
    source: prev.source,
    ...lastGood,
    health: SourceHealth.Stale,
    endpoints: prev.endpoints,
    problem: `empty answer while ${prev.endpoints.length} endpoint(s) were there; keeping them until the grace period ends`,
    badSinceMs,
    graceEndsAtMs,
  };
}
