// The state-of-the-world ADS protocol for one stream and one type URL, as pure functions:
// what a request means (INIT, ACK, NACK, stale, subscription change) and what, if anything, to
// send. Follows the decision table in shared/notes/xds-protocol.md §2.11. No I/O here.
import type { EncodedResource, TypeSnapshot } from './snapshot.js';
import { sortedNames } from './sorted-names.js';
import { isWildcardType, type TypeUrl } from './type-urls.js';

export interface SotwTypeState {
  readonly typeUrl: TypeUrl;
  /** Explicitly requested names. */
  readonly names: ReadonlySet<string>;
  /** Subscribed to everything (CDS/LDS wildcard, explicit '*' or the legacy empty list). */
  readonly wildcard: boolean;
  /** The client has sent a non-empty name list: from then on an empty list means "none". */
  readonly explicitEver: boolean;
  readonly lastNonceSent?: string;
  readonly lastVersionSent?: string;
  /** The last few nonces sent with their versions, so a NACK names the version it rejected. */
  readonly recentSends: ReadonlyArray<readonly [nonce: string, version: string]>;
  /** name → version of what the last response carried (what the client was given). */
  readonly sent: ReadonlyMap<string, string>;
  readonly ackedVersion?: string;
  readonly lastNack?: { version: string; nonce: string; detail: string };
  /** Answer the next in-order request even if nothing changed (EDS after a CDS push). */
  readonly forceRespond: boolean;
}

export interface SotwRequest {
  typeUrl: TypeUrl;
  versionInfo: string;
  nonce: string;
  names: readonly string[];
  errorDetail?: string;
}

export type RequestKind = 'init' | 'ack' | 'nack' | 'stale' | 'unsubscribe';

export interface RequestOutcome {
  state: SotwTypeState;
  kind: RequestKind;
  /** Whether a response should be considered now (the content check may still find nothing new). */
  respond: boolean;
  /** The request added names to the subscription: resend those even if unchanged. */
  namesAdded: boolean;
}

export function initialTypeState(typeUrl: TypeUrl): SotwTypeState {
  return { typeUrl, names: new Set(), wildcard: false, explicitEver: false, recentSends: [], sent: new Map(), forceRespond: false };
}

function applyNames(state: SotwTypeState, names: readonly string[]): { state: SotwTypeState; added: boolean } {
  // Fast path for the common ACK: the same explicit names as before, nothing to rebuild.
  if (!state.wildcard && names.length > 0 && names.length === state.names.size && !names.includes('*') && names.every((n) => state.names.has(n))) {
    return { state, added: false };
  }
  const explicit = names.filter((n) => n !== '*');
  const explicitEver = state.explicitEver || explicit.length > 0;
  // Legacy wildcard: an empty list means '*' only until the client ever names something.
  const wildcard = names.includes('*') || (names.length === 0 && !explicitEver && isWildcardType(state.typeUrl));
  const next = new Set(explicit);
  const added = explicit.some((n) => !state.names.has(n)) || (wildcard && !state.wildcard);
  return { state: { ...state, names: next, wildcard, explicitEver }, added };
}

/** Interprets one DiscoveryRequest for a type. */
export function onSotwRequest(prev: SotwTypeState | undefined, req: SotwRequest): RequestOutcome {
  const base = prev ?? initialTypeState(req.typeUrl);
  if (req.errorDetail !== undefined) {
    // NACK: keep what the client still runs, record why, and send nothing (no NACK loop). The names
    // are still recorded so a subscription change riding on a NACK is not lost.
    // The rejected version is the one sent with the NACKed nonce (an older response may be NACKed
    // after a newer one went out). Names it adds are answered on the next in-order request.
    const { state, added } = applyNames(base, req.names);
    const version = base.recentSends.find(([n]) => n === req.nonce)?.[1] ?? '';
    return {
      state: { ...state, forceRespond: state.forceRespond || added, lastNack: { version, nonce: req.nonce, detail: req.errorDetail } },
      kind: 'nack',
      respond: false,
      namesAdded: false,
    };
  }
  if (!prev || req.nonce === '') {
    // First request for this type on this stream, or a reconnect: always answer.
    const { state } = applyNames({ ...base, sent: new Map(), lastNonceSent: undefined }, req.names);
    return { state, kind: 'init', respond: true, namesAdded: true };
  }
  if (req.nonce !== base.lastNonceSent) {
    // Stale: a newer response is in flight. Record the names anyway (they may be the client's
    // only statement of a subscription change); answer nothing.
    const { state, added } = applyNames(base, req.names);
    return { state: { ...state, forceRespond: state.forceRespond || added }, kind: 'stale', respond: false, namesAdded: false };
  }
  const { state, added } = applyNames(base, req.names);
  if (!state.wildcard && state.names.size === 0) {
    return { state: { ...state, ackedVersion: req.versionInfo }, kind: 'unsubscribe', respond: false, namesAdded: false };
  }
  const respond = added || base.forceRespond;
  return { state: { ...state, ackedVersion: req.versionInfo, forceRespond: false }, kind: 'ack', respond, namesAdded: respond };
}

/** The resources a stream should hold for a type right now: all for wildcard, else those named that exist. */
export function wantedResources(state: SotwTypeState, snap: TypeSnapshot): EncodedResource[] {
  if (state.wildcard) return [...snap.resources.values()];
  const out: EncodedResource[] = [];
  for (const n of sortedNames(state.names)) {
    const r = snap.resources.get(n);
    if (r) out.push(r);
  }
  return out;
}

/**
 * What to send, or undefined when the client already has it. Wildcard types (CDS/LDS) carry the
 * full set, so any difference—including a removal—needs a response. For EDS/RDS only resources
 * the client lacks or holds at another version are sent (omission is not deletion there), so a
 * weight change on one service costs one CLA per stream, not all of them. `force` sends every
 * wanted resource (a grown subscription, or EDS after a CDS push).
 */
export function pendingResponse(state: SotwTypeState, snap: TypeSnapshot, force: boolean): EncodedResource[] | undefined {
  if (!state.wildcard && state.names.size === 0) return undefined;
  const wanted = wantedResources(state, snap);
  if (force) return wanted;
  if (state.wildcard) {
    const changed = state.sent.size !== wanted.length || wanted.some((r) => state.sent.get(r.name) !== r.version);
    return changed ? wanted : undefined;
  }
  const changed = wanted.filter((r) => state.sent.get(r.name) !== r.version);
  return changed.length > 0 ? changed : undefined;
}

/** The state after a response was written. */
export function afterSend(state: SotwTypeState, sent: readonly EncodedResource[], version: string, nonce: string): SotwTypeState {
  // Wildcard responses are the whole set; named ones add to what the client holds.
  const held = state.wildcard ? new Map<string, string>() : new Map(state.sent);
  for (const r of sent) held.set(r.name, r.version);
  const recentSends = [...state.recentSends.slice(-7), [nonce, version] as const];
  return { ...state, lastNonceSent: nonce, lastVersionSent: version, recentSends, sent: held, forceRespond: false };
}
