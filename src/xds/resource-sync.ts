// Per-resource sync state of one stream and one type: what the client runs, what is in flight and
// what it rejected, with the version_info Envoy itself reports for each resource in its
// config_dump. SyncStatus keeps one map of these per stream and type and feeds it from XdsEvents;
// CSDS reads it. Mutating helpers over a map the caller owns (they run once per stream per push).
//
// Envoy's per-resource version_info (checked against Envoy 1.40's config_dump):
// - state of the world: the version_info of the response in which the resource's content last
//   changed: Envoy keeps a resource whose content hash is unchanged, and its old version with it;
// - delta: the resource's own version (Resource.version).
import type { EncodedResource } from './snapshot.js';

export interface AcceptedContent {
  resource: EncodedResource;
  versionInfo: string;
  /** When the ACK arrived. */
  atMs: number;
}

export interface InFlightContent {
  /** undefined: a removal. */
  resource: EncodedResource | undefined;
  versionInfo: string;
  /** The stream-local order of the response that carried it, and its nonce. */
  seq: number;
  nonce: string;
  atMs: number;
}

export interface RejectedContent {
  resource: EncodedResource | undefined;
  versionInfo: string;
  detail: string;
  atMs: number;
}

export interface ResourceTrack {
  /** The content the client runs, as far as Spillway knows: the last it accepted. */
  accepted: AcceptedContent | undefined;
  /** Sent and not yet ACKed or NACKed. */
  pending: InFlightContent | undefined;
  /** The latest content the client rejected; cleared when a later one is accepted. */
  rejected: RejectedContent | undefined;
}

export interface SentResponse {
  resources: readonly EncodedResource[];
  /** Names the response removes (delta), beyond what `complete` implies. */
  removed: readonly string[];
  /** A state-of-the-world CDS/LDS response: every resource the client should hold (omission deletes). */
  complete: boolean;
  /** True for delta: each resource reports its own version. */
  perResourceVersions: boolean;
  /** The response's version_info (SotW) or system_version_info (delta). */
  versionInfo: string;
  seq: number;
  nonce: string;
  atMs: number;
}

const emptyTrack = (): ResourceTrack => ({ accepted: undefined, pending: undefined, rejected: undefined });

/** The content the client will run once what is in flight lands. */
function latestVersion(t: ResourceTrack): string | undefined {
  if (t.pending) return t.pending.resource?.version;
  return t.accepted?.resource.version;
}

export function noteResponseSent(tracks: Map<string, ResourceTrack>, sent: SentResponse): void {
  for (const r of sent.resources) {
    let t = tracks.get(r.name);
    if (!t) {
      t = emptyTrack();
      tracks.set(r.name, t);
    } else if (latestVersion(t) === r.version) {
      // Unchanged content: Envoy keeps the resource, and the version_info it reports with it.
      continue;
    }
    t.pending = {
      resource: r,
      versionInfo: sent.perResourceVersions ? r.version : sent.versionInfo,
      seq: sent.seq,
      nonce: sent.nonce,
      atMs: sent.atMs,
    };
  }
  for (const n of sent.removed) removed(tracks, n, sent);
  if (sent.complete && tracks.size > sent.resources.length) {
    const kept = new Set(sent.resources.map((r) => r.name));
    for (const n of [...tracks.keys()]) if (!kept.has(n)) removed(tracks, n, sent);
  }
}

/** A removal in flight (no closures on this path: it runs once per stream per push). */
function removed(tracks: Map<string, ResourceTrack>, name: string, sent: SentResponse): void {
  const t = tracks.get(name);
  if (!t) return;
  if (!t.accepted && !t.pending?.resource) {
    tracks.delete(name);
    return;
  }
  t.pending = { resource: undefined, versionInfo: sent.versionInfo, seq: sent.seq, nonce: sent.nonce, atMs: sent.atMs };
}

/** The order of the response `nonce` from what it left in flight; undefined when nothing is. */
export function inFlightSeq(tracks: ReadonlyMap<string, ResourceTrack>, nonce: string): number | undefined {
  for (const t of tracks.values()) if (t.pending?.nonce === nonce) return t.pending.seq;
  return undefined;
}

function accept(tracks: Map<string, ResourceTrack>, name: string, t: ResourceTrack, atMs: number): void {
  const p = t.pending;
  if (!p) return;
  if (!p.resource) {
    tracks.delete(name);
    return;
  }
  t.accepted = { resource: p.resource, versionInfo: p.versionInfo, atMs };
  t.rejected = undefined;
  t.pending = undefined;
}

/** An ACK of the response `seq`: it and every earlier response were applied. */
export function noteResponseAcked(tracks: Map<string, ResourceTrack>, seq: number, atMs: number): void {
  // Deleting the entry being visited is safe while iterating a Map.
  for (const [name, t] of tracks) if (t.pending && t.pending.seq <= seq) accept(tracks, name, t, atMs);
}

/**
 * A NACK of the response `seq`. Envoy applies what it can of a response and rejects the rest
 * (partial acceptance for CDS and LDS), naming what failed in the detail: when the detail names
 * some of the resources the response changed, only those are marked rejected; when it names none,
 * all of them are. Earlier responses were applied.
 */
export function noteResponseNacked(tracks: Map<string, ResourceTrack>, seq: number, detail: string, atMs: number): void {
  const carried: Array<[string, ResourceTrack]> = [];
  for (const [name, t] of tracks) {
    if (!t.pending || t.pending.seq > seq) continue;
    if (t.pending.seq < seq) accept(tracks, name, t, atMs);
    else carried.push([name, t]);
  }
  const named = carried.filter(([name]) => mentions(detail, name));
  const blamed = new Set((named.length > 0 ? named : carried).map(([name]) => name));
  for (const [name, t] of carried) {
    if (!blamed.has(name)) {
      accept(tracks, name, t, atMs);
      continue;
    }
    const p = t.pending!;
    t.rejected = { resource: p.resource, versionInfo: p.versionInfo, detail, atMs };
    t.pending = undefined;
  }
}

/** Whether `text` names the resource as a word (not as part of a longer name). */
function mentions(text: string, name: string): boolean {
  let from = 0;
  for (;;) {
    const i = text.indexOf(name, from);
    if (i < 0) return false;
    const before = text[i - 1];
    const after = text[i + name.length];
    if (!isNameChar(before) && !isNameChar(after)) return true;
    from = i + 1;
  }
}

const isNameChar = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_.\-/]/.test(c);

/** CSDS's ConfigStatus vocabulary, per resource. */
export type ResourceConfigStatus = 'SYNCED' | 'NOT_SENT' | 'STALE' | 'ERROR';

/** CSDS's ClientResourceStatus: what the client itself would say about the resource. */
export type ClientResourceStatus = 'REQUESTED' | 'DOES_NOT_EXIST' | 'ACKED' | 'NACKED';

/**
 * SYNCED: the client runs the content the snapshot holds now. STALE: a newer content (or a
 * removal) is in flight or not sent yet while the client runs an older one. ERROR: the client
 * rejected the content the snapshot holds now. NOT_SENT: the client has none of it yet.
 */
export function resourceConfigStatus(t: ResourceTrack | undefined, current: EncodedResource | undefined): ResourceConfigStatus {
  if (!t) return 'NOT_SENT';
  if (t.pending) return 'STALE';
  if (current && t.accepted?.resource.version === current.version) return 'SYNCED';
  if (current && t.rejected?.resource?.version === current.version) return 'ERROR';
  return t.accepted ? 'STALE' : 'NOT_SENT';
}

export function clientResourceStatus(t: ResourceTrack | undefined, exists: boolean): ClientResourceStatus {
  if (t?.rejected && (!t.accepted || t.rejected.atMs >= t.accepted.atMs)) return 'NACKED';
  if (t?.accepted) return 'ACKED';
  return exists ? 'REQUESTED' : 'DOES_NOT_EXIST';
}
