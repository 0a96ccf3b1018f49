// The state-of-the-world ADS protocol for one stream and one type URL, as pure functions:
// what a request means (INIT, ACK, NACK, stale, subscription change) and what, if anything, to
// send (docs/xds-protocol.md lists the cases). No I/O here.
import type { DiscoveryRequest__Output } from '../generated/envoy/service/discovery/v3/DiscoveryRequest.js';
import type { DiscoveryResponse } from '../generated/envoy/service/discovery/v3/DiscoveryResponse.js';
import { WARMS_WITH, type ProtocolSession, type RequestVerdict, type ResponseStep } from './protocol.js';
import { PerType } from './per-type.js';
import type { ResponseBodies } from './response-bodies.js';
import type { EncodedResource, TypeSnapshot } from './snapshot.js';
import { SentNonces } from './sent-nonces.js';
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
  readonly lastNonceSent: string | undefined;
  readonly lastVersionSent: string | undefined;
  /**
   * The snapshot the last response brought the client to: a response carries every wanted
   * resource that differs from what the client holds, so afterwards the client holds this
   * snapshot's version of every wanted resource in it (all of it, for wildcard). One reference
   * instead of a per-stream name → version copy on every push. This holds because the wanted set
   * only grows with a forced response: on init and ACK directly, on a stale request or NACK
   * through forceRespond, which the next response honours whatever triggers it.
   */
  readonly heldFrom: TypeSnapshot | undefined;
  readonly ackedVersion: string | undefined;
  readonly lastNack: { version: string; nonce: string; detail: string } | undefined;
  /** Answer the next in-order request even if nothing changed (EDS after a CDS push). */
  readonly forceRespond: boolean;
}

export interface SotwRequest {
  typeUrl: TypeUrl;
  versionInfo: string;
  nonce: string;
  names: readonly string[];
  errorDetail?: string;
  /** The version this stream sent with `nonce`, if it still remembers (sent-nonces.ts). */
  sentVersion?: string;
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
  // The same fields in the same order as withFields builds them: one V8 shape for every state.
  return {
    typeUrl,
    names: new Set(),
    wildcard: false,
    explicitEver: false,
    lastNonceSent: undefined,
    lastVersionSent: undefined,
    heldFrom: undefined,
    ackedVersion: undefined,
    lastNack: undefined,
    forceRespond: false,
  };
}

/**
 * A copy of `s` with `o` applied. Written out as one object literal, every field in the same
 * order: this runs for every stream on every push and ACK, and V8 copies an object spread of
 * these states several times slower than it builds a literal.
 */
export function withFields(s: SotwTypeState, o: Partial<SotwTypeState>): SotwTypeState {
  return {
    typeUrl: s.typeUrl,
    names: o.names ?? s.names,
    wildcard: o.wildcard ?? s.wildcard,
    explicitEver: o.explicitEver ?? s.explicitEver,
    lastNonceSent: 'lastNonceSent' in o ? o.lastNonceSent : s.lastNonceSent,
    lastVersionSent: 'lastVersionSent' in o ? o.lastVersionSent : s.lastVersionSent,
    heldFrom: 'heldFrom' in o ? o.heldFrom : s.heldFrom,
    ackedVersion: 'ackedVersion' in o ? o.ackedVersion : s.ackedVersion,
    lastNack: 'lastNack' in o ? o.lastNack : s.lastNack,
    forceRespond: o.forceRespond ?? s.forceRespond,
  };
}

/**
 * One shared Set per distinct subscription: Envoys of one fleet subscribe to the same names, and a
 * shared (immutable) set lets a push compute each distinct response once (pendingResponse) and
 * sort each subscription once (sorted-names.ts). Bounded: the oldest entries are forgotten.
 */
const interned = new Map<string, ReadonlySet<string>>();
const MAX_INTERNED = 4096;
function internNames(names: readonly string[]): ReadonlySet<string> {
  const key = [...new Set(names)].sort().join('\n');
  let set = interned.get(key);
  if (!set) {
    set = new Set(names);
    interned.set(key, set);
    if (interned.size > MAX_INTERNED) interned.delete(interned.keys().next().value as string);
  }
  return set;
}

function applyNames(state: SotwTypeState, names: readonly string[]): { state: SotwTypeState; added: boolean } {
  // Fast path for the common ACK: the same explicit names as before, nothing to rebuild.
  if (
    !state.wildcard &&
    names.length > 0 &&
    names.length === state.names.size &&
    !names.includes('*') &&
    names.every((n) => state.names.has(n))
  ) {
    return { state, added: false };
  }
  const explicit = names.filter((n) => n !== '*');
  const explicitEver = state.explicitEver || explicit.length > 0;
  // Legacy wildcard: an empty list means '*' only until the client ever names something.
  const wildcard = names.includes('*') || (names.length === 0 && !explicitEver && isWildcardType(state.typeUrl));
  const next = internNames(explicit);
  const added = explicit.some((n) => !state.names.has(n)) || (wildcard && !state.wildcard);
  return { state: withFields(state, { names: next, wildcard, explicitEver }), added };
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
    const version = req.sentVersion ?? '';
    return {
      state: withFields(state, {
        forceRespond: state.forceRespond || added,
        lastNack: { version, nonce: req.nonce, detail: req.errorDetail },
      }),
      kind: 'nack',
      respond: false,
      namesAdded: false,
    };
  }
  if (!prev || req.nonce === '') {
    // First request for this type on this stream, or a reconnect: always answer.
    const { state } = applyNames(withFields(base, { heldFrom: undefined, lastNonceSent: undefined }), req.names);
    return { state, kind: 'init', respond: true, namesAdded: true };
  }
  if (req.nonce !== base.lastNonceSent) {
    // Stale: a newer response is in flight. Record the names anyway (they may be the client's
    // only statement of a subscription change); answer nothing.
    const { state, added } = applyNames(base, req.names);
    return { state: withFields(state, { forceRespond: state.forceRespond || added }), kind: 'stale', respond: false, namesAdded: false };
  }
  const { state, added } = applyNames(base, req.names);
  if (!state.wildcard && state.names.size === 0) {
    return { state: withFields(state, { ackedVersion: req.versionInfo }), kind: 'unsubscribe', respond: false, namesAdded: false };
  }
  const respond = added || base.forceRespond;
  return { state: withFields(state, { ackedVersion: req.versionInfo, forceRespond: false }), kind: 'ack', respond, namesAdded: respond };
}

/** What the client holds for a type: name → version (for logs and tests). */
export function heldVersions(state: SotwTypeState): Map<string, string> {
  const held = new Map<string, string>();
  for (const r of state.heldFrom?.resources.values() ?? []) {
    if (state.wildcard || state.names.has(r.name)) held.set(r.name, r.version);
  }
  return held;
}

/**
 * What to send, or undefined when the client already has it. CDS/LDS responses carry the full set
 * (all of it for wildcard, every named one otherwise), so any difference—including a removal—needs
 * a response (type versions are content hashes: equal versions, equal sets). For EDS/RDS only resources the client lacks or holds at
 * another version are sent (omission is not deletion there), so a weight change on one service
 * costs one CLA per stream, not all of them. `force` (or a pending forceRespond) sends every
 * wanted resource (a grown subscription, or EDS after a CDS push).
 */
export function pendingResponse(state: SotwTypeState, snap: TypeSnapshot, force: boolean): readonly EncodedResource[] | undefined {
  // A subscription that grew on a stale request or a NACK is only marked forceRespond; its new
  // names may be in heldFrom without ever having been sent, so the next response must carry all.
  const all = force || state.forceRespond;
  // A push asks this of every stream in turn, and streams with one subscription (interned, see
  // applyNames) that hold the same snapshot get the same answer: compute it once, share the array.
  const m = lastPending;
  if (
    m.snap === snap &&
    m.held === state.heldFrom &&
    m.names === state.names &&
    m.wildcard === state.wildcard &&
    m.all === all &&
    m.typeUrl === state.typeUrl
  ) {
    return m.result;
  }
  const result = computePending(state, snap, all);
  lastPending = { snap, held: state.heldFrom, names: state.names, wildcard: state.wildcard, all, typeUrl: state.typeUrl, result };
  return result;
}

let lastPending: {
  snap: TypeSnapshot | undefined;
  held: TypeSnapshot | undefined;
  names: ReadonlySet<string> | undefined;
  wildcard: boolean;
  all: boolean;
  typeUrl: TypeUrl | undefined;
  result: readonly EncodedResource[] | undefined;
} = { snap: undefined, held: undefined, names: undefined, wildcard: false, all: false, typeUrl: undefined, result: undefined };

function computePending(state: SotwTypeState, snap: TypeSnapshot, all: boolean): readonly EncodedResource[] | undefined {
  if (state.wildcard) {
    if (!all && state.heldFrom !== undefined && state.heldFrom.version === snap.version) return undefined;
    return [...snap.resources.values()];
  }
  if (state.names.size === 0) return undefined;
  const held = state.heldFrom?.resources;
  if (isWildcardType(state.typeUrl)) {
    // CDS/LDS by name: a SotW response is still the complete set of what was asked for (a name
    // left out is deleted), so any difference, a removal included, resends every named resource.
    const wanted: EncodedResource[] = [];
    let changed = all;
    for (const n of sortedNames(state.names)) {
      const r = snap.resources.get(n);
      if (r) wanted.push(r);
      if (r?.version !== held?.get(n)?.version) changed = true;
    }
    return changed ? wanted : undefined;
  }
  const out: EncodedResource[] = [];
  for (const n of sortedNames(state.names)) {
    const r = snap.resources.get(n);
    if (r && (all || held?.get(n)?.version !== r.version)) out.push(r);
  }
  return out.length > 0 ? out : undefined;
}

/** The state after pendingResponse(state, snap, …) was written with this nonce. */
export function afterSend(state: SotwTypeState, snap: TypeSnapshot, nonce: string): SotwTypeState {
  return withFields(state, { lastNonceSent: nonce, lastVersionSent: snap.version, heldFrom: snap, forceRespond: false });
}

/** One SotW stream's protocol state over every type: the rules the ADS glue applies. */
export function openSotwSession(
  bodies: ResponseBodies,
  nextNonce: () => string,
): ProtocolSession<DiscoveryRequest__Output, DiscoveryResponse> {
  const types = new PerType<SotwTypeState>();
  const sent = new SentNonces();
  return {
    onRequest(typeUrl, req, errorDetail, snap): RequestVerdict {
      const sentVersion = errorDetail !== undefined ? sent.versionOf(typeUrl, req.response_nonce) : undefined;
      const outcome = onSotwRequest(types.get(typeUrl), {
        typeUrl,
        versionInfo: req.version_info,
        nonce: req.response_nonce,
        names: req.resource_names,
        ...(errorDetail !== undefined ? { errorDetail } : {}),
        ...(sentVersion !== undefined ? { sentVersion } : {}),
      });
      types.set(typeUrl, outcome.state);
      const verdict = (kind: RequestVerdict['kind'], version: string): RequestVerdict => ({
        kind,
        version,
        flush: outcome.respond,
        force: outcome.namesAdded,
      });
      switch (outcome.kind) {
        case 'nack':
          return verdict('nack', outcome.state.lastNack?.version ?? '');
        case 'ack':
          return verdict('ack', req.version_info);
        case 'init': {
          // A new stream proves it holds the current content only where a response is the whole set:
          // a wildcard type at the current version. EDS/RDS are always answered (names may have grown
          // on the old stream without an answer reaching the client).
          const current = snap?.types[typeUrl];
          if (current && outcome.state.wildcard && req.version_info !== '' && req.version_info === current.version) {
            types.set(typeUrl, withFields(outcome.state, { heldFrom: current, lastVersionSent: current.version }));
            return { kind: 'holds', version: current.version, flush: false, force: false };
          }
          return verdict('init', req.version_info);
        }
        // A stale nonce and an emptied subscription answer nothing.
        case 'stale':
          return verdict('stale', '');
        case 'unsubscribe':
          return verdict('quiet', '');
      }
    },
    respond(typeUrl, snap, force): ResponseStep<DiscoveryResponse> {
      const state = types.get(typeUrl);
      const typeSnap = snap.types[typeUrl];
      const resources = state && pendingResponse(state, typeSnap, force);
      if (!state || !resources) return {};
      const nonce = nextNonce();
      types.set(typeUrl, afterSend(state, typeSnap, nonce));
      sent.add(typeUrl, nonce, typeSnap.version);
      // The dependent's own re-request after warming looks exactly like an ACK: answer it too.
      const dependent = WARMS_WITH[typeUrl];
      const waiting = dependent && types.get(dependent);
      if (dependent && waiting) types.set(dependent, withFields(waiting, { forceRespond: true }));
      const response = bodies.sotwResponse(typeUrl, resources, { version_info: typeSnap.version, type_url: typeUrl, nonce });
      return { sent: { response, version: typeSnap.version, nonce, resources }, ...(dependent && waiting ? { wake: dependent } : {}) };
    },
    subscription(typeUrl) {
      const state = types.get(typeUrl);
      return state && { wildcard: state.wildcard, names: state.names };
    },
  };
}
