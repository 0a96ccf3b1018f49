// The incremental (delta) ADS protocol for one stream and one type URL, as pure functions.
// Subscriptions are never dropped because of a stale nonce (the nonce only correlates ACK/NACK);
// the server tracks what the client holds, per resource, and sends only the difference.
// shared/notes/xds-protocol.md §2.8 (items 36–42).
import type { EncodedResource, TypeSnapshot } from './snapshot.js';
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
  // Every field present, always in this order: one object shape for V8.
  const base: DeltaTypeState = { typeUrl: req.typeUrl, wildcard, names, clientHas, lastNack: prev?.lastNack };
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
  const clientHas = new Map(state.clientHas);
  for (const r of body.resources) clientHas.set(r.name, r.version);
  for (const n of body.removed) clientHas.delete(n);
  return withClientHas(state, clientHas);
}

/** A copy with another clientHas (and lastNack): one object literal, fields in a fixed order (see sotw-state's withFields). */
export function withClientHas(s: DeltaTypeState, clientHas: ReadonlyMap<string, string>, lastNack = s.lastNack): DeltaTypeState {
  return { typeUrl: s.typeUrl, wildcard: s.wildcard, names: s.names, clientHas, lastNack };
}
