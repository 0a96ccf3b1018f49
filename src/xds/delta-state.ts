// The incremental (delta) ADS protocol for one stream and one type URL, as pure functions.
// Subscriptions are never dropped because of a stale nonce (the nonce only correlates ACK/NACK);
// the server tracks what the client holds, per resource, and sends only the difference.
// docs/xds-protocol.md lists the cases.
import type { DeltaDiscoveryRequest__Output } from '../generated/envoy/service/discovery/v3/DeltaDiscoveryRequest.js';
import type { DeltaDiscoveryResponse } from '../generated/envoy/service/discovery/v3/DeltaDiscoveryResponse.js';
import { WARMS_WITH, type ProtocolSession, type ResponseStep } from './protocol.js';
import { PerType } from './per-type.js';
import type { ResponseBodies } from './response-bodies.js';
import type { EncodedResource, TypeSnapshot } from './snapshot.js';
import { SentNonces } from './sent-nonces.js';
import { internMap, internSet, mapAfter } from './shared-contents.js';
import { sortedNames } from './sorted-names.js';
import { isWildcardType, type TypeUrl } from './type-urls.js';

export interface DeltaTypeState {
  readonly typeUrl: TypeUrl;
  readonly wildcard: boolean;
  /** Explicitly subscribed names. */
  readonly names: ReadonlySet<string>;
  /** name → version the client holds (from initial_resource_versions, then from what was sent). */
  readonly clientHas: ReadonlyMap<string, string>;
  readonly lastNack: { nonce: string; detail: string } | undefined;
}

export interface DeltaRequest {
  typeUrl: TypeUrl;
  subscribe: readonly string[];
  unsubscribe: readonly string[];
  initialVersions: Readonly<Record<string, string>>;
  nonce: string;
  errorDetail?: string;
}

export type DeltaRequestKind = 'init' | 'ack' | 'nack' | 'subscription';

export interface DeltaOutcome {
  state: DeltaTypeState;
  kind: DeltaRequestKind;
}

export interface DeltaResponseBody {
  resources: EncodedResource[];
  removed: string[];
}

/** Interprets one DeltaDiscoveryRequest for a type. */
export function onDeltaRequest(prev: DeltaTypeState | undefined, req: DeltaRequest): DeltaOutcome {
  // The common case, once per stream per push: a plain ACK changes nothing the server tracks.
  if (prev && req.errorDetail === undefined && req.nonce !== '' && req.subscribe.length === 0 && req.unsubscribe.length === 0) {
    return { state: prev, kind: 'ack' };
  }
  const first = prev === undefined;
  const clientHas = new Map(prev?.clientHas ?? []);
  if (first) for (const [n, v] of Object.entries(req.initialVersions)) clientHas.set(n, v);
  const names = new Set(prev?.names ?? []);
  let wildcard = prev?.wildcard ?? false;
  // Legacy wildcard: the first request for a wildcard type with both lists empty.
  if (first && req.subscribe.length === 0 && req.unsubscribe.length === 0 && isWildcardType(req.typeUrl)) wildcard = true;
  for (const n of req.subscribe) {
    if (n === '*') {
      wildcard = true;
      continue;
    }
    names.add(n);
    // A (re-)subscribe is always answered—the client may have dropped it—unless this is the
    // reconnect request and the client already reports the current version (initialVersions).
    if (!(first && n in req.initialVersions)) clientHas.delete(n);
  }
  let leftWildcard = false;
  for (const n of req.unsubscribe) {
    if (n === '*') {
      leftWildcard = wildcard;
      wildcard = false;
      continue;
    }
    names.delete(n);
    // Forget it: if '*' still covers it, the next diff sends it back (spec: wildcard + explicit).
    clientHas.delete(n);
  }
  // Leaving wildcard, the client drops what only '*' covered: forget it, so that a later '*' (or
  // name) subscribe is answered in full rather than assumed held.
  if (leftWildcard && !wildcard) for (const n of [...clientHas.keys()]) if (!names.has(n)) clientHas.delete(n);
  // Every field present, always in this order: one object shape for V8. The set and the map are
  // the shared copies (shared-contents.ts): every stream holding the same keeps one.
  const base: DeltaTypeState = {
    typeUrl: req.typeUrl,
    wildcard,
    names: internSet(names),
    clientHas: internMap(clientHas),
    lastNack: prev?.lastNack,
  };
  if (req.errorDetail !== undefined) {
    // What was sent stays recorded as held, so the rejected content is not resent (no NACK loop).
    return { state: withClientHas(base, base.clientHas, { nonce: req.nonce, detail: req.errorDetail }), kind: 'nack' };
  }
  if (first) return { state: base, kind: 'init' };
  if (req.nonce !== '' && req.subscribe.length === 0 && req.unsubscribe.length === 0) return { state: base, kind: 'ack' };
  return { state: base, kind: 'subscription' };
}

/** Whether the stream is subscribed to the name (explicitly or by wildcard). */
function covers(state: DeltaTypeState, name: string): boolean {
  return state.wildcard || state.names.has(name);
}

/**
 * What the client lacks or holds at another version, and (wildcard types only) what it holds that
 * no longer exists. Envoy ignores delta removals for EDS/RDS, which disappear with their parents.
 */
export function pendingDelta(state: DeltaTypeState, snap: TypeSnapshot): DeltaResponseBody | undefined {
  const resources: EncodedResource[] = [];
  if (state.wildcard) {
    for (const r of snap.resources.values()) if (state.clientHas.get(r.name) !== r.version) resources.push(r);
  } else {
    for (const n of sortedNames(state.names)) {
      const r = snap.resources.get(n);
      if (r && state.clientHas.get(n) !== r.version) resources.push(r);
    }
  }
  const removed: string[] = [];
  if (isWildcardType(state.typeUrl)) {
    for (const n of state.clientHas.keys()) if (!snap.resources.has(n) && covers(state, n)) removed.push(n);
  }
  if (resources.length === 0 && removed.length === 0) return undefined;
  return { resources, removed: removed.sort() };
}

/** The state after a delta response was written: the client now holds what was sent. */
export function afterDeltaSend(state: DeltaTypeState, body: DeltaResponseBody): DeltaTypeState {
  return withClientHas(state, mapAfter(state.clientHas, body.resources, body.removed));
}

/** A copy with another clientHas (and lastNack): one object literal, fields in a fixed order (see sotw-state's withFields). */
export function withClientHas(s: DeltaTypeState, clientHas: ReadonlyMap<string, string>, lastNack = s.lastNack): DeltaTypeState {
  return { typeUrl: s.typeUrl, wildcard: s.wildcard, names: s.names, clientHas, lastNack };
}

/** One delta stream's protocol state over every type: the rules the ADS glue applies. */
export function openDeltaSession(
  bodies: ResponseBodies,
  nextNonce: () => string,
): ProtocolSession<DeltaDiscoveryRequest__Output, DeltaDiscoveryResponse> {
  const types = new PerType<DeltaTypeState>();
  /** The system version sent with each recent nonce. */
  const sent = new SentNonces();
  /** Per type, the system version the client was last brought to (by a response, or by having nothing to get). */
  const versionReached = new PerType<string>();
  return {
    onRequest(typeUrl, req, errorDetail) {
      const outcome = onDeltaRequest(types.get(typeUrl), {
        typeUrl,
        subscribe: req.resource_names_subscribe,
        unsubscribe: req.resource_names_unsubscribe,
        initialVersions: req.initial_resource_versions,
        nonce: req.response_nonce,
        ...(errorDetail !== undefined ? { errorDetail } : {}),
      });
      types.set(typeUrl, outcome.state);
      const version = sent.versionOf(typeUrl, req.response_nonce) ?? '';
      // Subscription changes ride on any request, ACK, NACK or stale: reconsider the type unless
      // the request was a plain ACK (it changed nothing, and pushes do not wait for ACKs).
      const flush = outcome.kind !== 'ack';
      if (outcome.kind === 'nack') return { kind: 'nack', version, flush, force: false };
      if (outcome.kind === 'init') return { kind: 'init', version, flush, force: false };
      return { kind: req.response_nonce ? 'ack' : 'quiet', version, flush, force: false };
    },
    respond(typeUrl, snap, _force): ResponseStep<DeltaDiscoveryResponse> {
      const state = types.get(typeUrl);
      const typeSnap = snap.types[typeUrl];
      const version = typeSnap.version;
      const body = state && pendingDelta(state, typeSnap);
      if (!state || !body) {
        if (!state || versionReached.get(typeUrl) === version) return {};
        const first = !versionReached.has(typeUrl);
        versionReached.set(typeUrl, version);
        // The first look finding nothing to send means initial_resource_versions covered everything.
        return first ? { holds: version } : { upToDate: version };
      }
      versionReached.set(typeUrl, version);
      const nonce = nextNonce();
      types.set(typeUrl, afterDeltaSend(state, body));
      sent.add(typeUrl, nonce, version);
      // Envoy need not re-subscribe a dependent it already watches: treat the dependents of what was
      // sent as not held, so they follow in this flush.
      const dependent = body.resources.length > 0 ? WARMS_WITH[typeUrl] : undefined;
      const waiting = dependent && types.get(dependent);
      if (dependent && waiting) {
        const forgotten = body.resources.map((r) => r.name);
        types.set(dependent, withClientHas(waiting, mapAfter(waiting.clientHas, [], forgotten)));
      }
      const response = bodies.deltaResponse(typeUrl, body.resources, {
        system_version_info: version,
        type_url: typeUrl,
        nonce,
        removed_resources: body.removed,
      });
      return {
        sent: { response, version, nonce, resources: body.resources, removed: body.removed },
        ...(dependent && waiting ? { wake: dependent } : {}),
      };
    },
    subscription(typeUrl) {
      const state = types.get(typeUrl);
      return state && { wildcard: state.wildcard, names: state.names };
    },
  };
}
