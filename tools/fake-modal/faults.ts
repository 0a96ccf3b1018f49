// The faults a test or the demo can switch on in the fake Modal, and how a JSON body maps onto them.

/** gRPC status names the stats fault may answer with. */
export const STATS_ERROR_CODES = [
  'UNAVAILABLE',
  'INTERNAL',
  'DEADLINE_EXCEEDED',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
] as const;
export type StatsErrorCode = (typeof STATS_ERROR_CODES)[number];

export interface Faults {
  /** FunctionGetCurrentStats fails with this gRPC code. */
  statsError?: StatsErrorCode;
  /** FunctionGetCurrentStats answers only after this long. */
  statsDelayMs?: number;
  /** FunctionGetCurrentStats answers with bytes that do not decode as FunctionStats. */
  statsMalformed?: boolean;
  /** FunctionGetCurrentStats keeps answering the stats of the moment this was set (stale data). */
  statsFrozen?: boolean;
  /** Fraction (0..1) of web requests answered with webErrorStatus instead of reaching a container. */
  webErrorRate?: number;
  /** Status for webErrorRate; default 500. */
  webErrorStatus?: number;
  /** New containers take this long to start. */
  coldStartMs?: number;
  /** Everything down: every RPC is UNAVAILABLE and the web side answers 503. */
  outage?: boolean;
  /** Requests starting while this is set get their 303 after this long instead of the configured limit (Modal: 150 s). */
  redirectAfterMs?: number;
}

/** Validates a JSON body from POST /_fake/faults; the result replaces the current faults. */
export function parseFaults(body: unknown): Faults {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('faults must be a JSON object');
  const b = body as Record<string, unknown>;
  const out: Faults = {};
  for (const [key, value] of Object.entries(b)) {
    switch (key) {
      case 'statsError':
        if (value === null) break;
        if (!STATS_ERROR_CODES.includes(value as StatsErrorCode))
          throw new Error(`statsError must be one of ${STATS_ERROR_CODES.join(', ')}`);
        out.statsError = value as StatsErrorCode;
        break;
      case 'statsDelayMs':
      case 'coldStartMs':
      case 'redirectAfterMs':
      case 'webErrorStatus':
        if (value === null) break;
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error(`${key} must be a non-negative number`);
        out[key] = value;
        break;
      case 'webErrorRate':
        if (value === null) break;
        if (typeof value !== 'number' || value < 0 || value > 1) throw new Error('webErrorRate must be between 0 and 1');
        out.webErrorRate = value;
        break;
      case 'statsMalformed':
      case 'statsFrozen':
      case 'outage':
        if (typeof value !== 'boolean') throw new Error(`${key} must be a boolean`);
        out[key] = value;
        break;
      default:
        throw new Error(`unknown fault '${key}'`);
    }
  }
  return out;
}
