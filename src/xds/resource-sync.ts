// Per-resource sync state of one stream and one type: what the client runs, what is in flight and
// what it rejected, with the version_info Envoy itself reports for each resource in its
// config_dump. SyncStatus keeps one ResourceLedger per stream and type and feeds it from XdsEvents;
// CSDS reads it. It runs once per stream per push and is kept for every connected Envoy, so what
// the client runs is stored compactly (see ResourceLedger) and tracks are built only when read.
//
// Envoy's per-resource version_info (checked against Envoy 1.40's config_dump):
// - state of the world: the version_info of the response in which the resource's content last
//   changed: Envoy keeps a resource whose content hash is unchanged, and its old version with it;
// - delta: the resource's own version (Resource.version).
import { keyPart, WeakTable } from './shared-contents.js';
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

/** Transitions remembered per RunningSet (their keys can be long): a push leads every stream the same way, so one is the usual. */
const MAX_TRANSITIONS = 8;

/** A change the client applied: new content for a resource, or (resource undefined) its removal. */
interface AppliedChange {
  name: string;
  resource: EncodedResource | undefined;
  versionInfo: string;
}

/**
 * What a client runs for one type: names, contents and the version_info Envoy reports for each.
 * Immutable and shared: every stream that applied the same changes from the same set holds the same
 * object (a cache of transitions, weakly held), so ten thousand Envoys running one configuration
 * cost one copy of it. Only the times of acceptance are per stream (ResourceLedger).
 */
class RunningSet {
  static readonly EMPTY = new RunningSet([], new Map(), [], []);
  /** Transitions already made from this set, by the changes' key (weak: an unused set is collected). */
  private readonly next = new WeakTable<RunningSet>(MAX_TRANSITIONS);

  private constructor(
    /** Slot order; shared with the set this one came from when only contents changed. */
    readonly names: readonly string[],
    readonly slots: ReadonlyMap<string, number>,
    readonly resources: readonly EncodedResource[],
    readonly versionInfos: readonly string[],
  ) {}

  /** The set after `changes`, applied in order: updates keep their slot, additions go last, removals close up. */
  after(changes: readonly AppliedChange[]): RunningSet {
    let key = '';
    for (const c of changes)
      key += c.resource ? keyPart(c.name) + keyPart(c.resource.version) + keyPart(c.versionInfo) : `-${keyPart(c.name)}`;
    return this.next.get(key) ?? this.next.set(key, this.apply(changes));
  }

  private apply(changes: readonly AppliedChange[]): RunningSet {
    if (changes.every((c) => c.resource !== undefined && this.slots.has(c.name))) {
      const resources = this.resources.slice();
      const versionInfos = this.versionInfos.slice();
      for (const c of changes) {
        const slot = this.slots.get(c.name)!;
        resources[slot] = c.resource!;
        versionInfos[slot] = c.versionInfo;
      }
      return new RunningSet(this.names, this.slots, resources, versionInfos);
    }
    const byName = new Map<string, [EncodedResource, string]>();
    this.names.forEach((n, i) => byName.set(n, [this.resources[i]!, this.versionInfos[i]!]));
    for (const c of changes) {
      if (c.resource) byName.set(c.name, [c.resource, c.versionInfo]);
      else byName.delete(c.name);
    }
    const names = [...byName.keys()];
    const entries = [...byName.values()];
    return new RunningSet(
      names,
      new Map(names.map((n, i) => [n, i])),
      entries.map((e) => e[0]),
      entries.map((e) => e[1]),
    );
  }
}

/**
 * One stream's per-resource sync state for one type. What the client runs is the bulk of it (every
 * resource of the type, for every connected Envoy): it is a shared RunningSet plus this stream's
 * times of acceptance, one number per resource. What is in flight and what was rejected are few
 * and short-lived: maps that exist only while they hold something. `tracks()` builds the
 * ResourceTrack view.
 */
export class ResourceLedger {
  private running = RunningSet.EMPTY;
  /** Per slot of `running`: when this stream's client accepted that content. */
  private acceptedAtMs: number[] = [];
  /** Sent and not yet ACKed or NACKed (a removal: resource undefined). */
  private pending: Map<string, InFlightContent> | undefined;
  /** The latest content the client rejected, per name; cleared when a later one is accepted. */
  private rejected: Map<string, RejectedContent> | undefined;

  /** How many resources have any state (accepted, in flight or rejected). */
  get size(): number {
    return this.countNames();
  }

  /** The per-resource view (built on each call: read it, never keep it across events). */
  tracks(): Map<string, ResourceTrack> {
    const out = new Map<string, ResourceTrack>();
    for (const name of this.names()) {
      const slot = this.running.slots.get(name);
      out.set(name, {
        accepted:
          slot === undefined
            ? undefined
            : { resource: this.running.resources[slot]!, versionInfo: this.running.versionInfos[slot]!, atMs: this.acceptedAtMs[slot]! },
        pending: this.pending?.get(name),
        rejected: this.rejected?.get(name),
      });
    }
    return out;
  }

  private names(): Set<string> {
    const names = new Set(this.running.names);
    if (this.pending) for (const n of this.pending.keys()) names.add(n);
    if (this.rejected) for (const n of this.rejected.keys()) names.add(n);
    return names;
  }

  private countNames(): number {
    let n = this.running.names.length;
    if (this.pending) for (const name of this.pending.keys()) if (!this.running.slots.has(name)) n++;
    if (this.rejected) {
      for (const name of this.rejected.keys()) if (!this.running.slots.has(name) && !this.pending?.has(name)) n++;
    }
    return n;
  }

  private has(name: string): boolean {
    return this.running.slots.has(name) || this.pending?.has(name) === true || this.rejected?.has(name) === true;
  }

  /** The content the client will run once what is in flight lands. */
  private latestVersion(name: string): string | undefined {
    const p = this.pending?.get(name);
    if (p) return p.resource?.version;
    const slot = this.running.slots.get(name);
    return slot === undefined ? undefined : this.running.resources[slot]!.version;
  }

  private setPending(name: string, content: InFlightContent): void {
    (this.pending ??= new Map()).set(name, content);
  }

  /** A response was written (no closures on this path: it runs once per stream per push). */
  sent(sent: SentResponse): void {
    for (const r of sent.resources) {
      // Unchanged content: Envoy keeps the resource, and the version_info it reports with it.
      if (this.has(r.name) && this.latestVersion(r.name) === r.version) continue;
      this.setPending(r.name, {
        resource: r,
        versionInfo: sent.perResourceVersions ? r.version : sent.versionInfo,
        seq: sent.seq,
        nonce: sent.nonce,
        atMs: sent.atMs,
      });
    }
    for (const n of sent.removed) this.removalSent(n, sent);
    // Counted first, without building the set of names: this runs for every stream on every CDS/LDS push.
    if (sent.complete && this.countNames() > sent.resources.length) {
      const kept = new Set(sent.resources.map((r) => r.name));
      for (const n of this.names()) if (!kept.has(n)) this.removalSent(n, sent);
    }
  }

  /** A removal in flight; a resource the client never ran is simply forgotten. */
  private removalSent(name: string, sent: SentResponse): void {
    if (!this.has(name)) return;
    if (!this.running.slots.has(name) && !this.pending?.get(name)?.resource) {
      this.pending?.delete(name);
      this.clearRejected(name);
      return;
    }
    this.setPending(name, { resource: undefined, versionInfo: sent.versionInfo, seq: sent.seq, nonce: sent.nonce, atMs: sent.atMs });
  }

  /** The order of the response `nonce` from what it left in flight; undefined when nothing is. */
  inFlightSeq(nonce: string): number | undefined {
    if (this.pending) for (const p of this.pending.values()) if (p.nonce === nonce) return p.seq;
    return undefined;
  }

  /** An ACK of the response `seq`: it and every earlier response were applied. */
  acked(seq: number, atMs: number): void {
    if (!this.pending) return;
    const applied: AppliedChange[] = [];
    for (const [name, p] of this.pending) if (p.seq <= seq) applied.push(this.settle(name, p));
    this.apply(applied, atMs);
  }

  /**
   * A NACK of the response `seq`. Envoy applies what it can of a response and rejects the rest
   * (partial acceptance for CDS and LDS), naming what failed in the detail: when the detail names
   * some of the resources the response changed, only those are marked rejected; when it names none,
   * all of them are. Earlier responses were applied.
   */
  nacked(seq: number, detail: string, atMs: number): void {
    if (!this.pending) return;
    const applied: AppliedChange[] = [];
    const carried: Array<[string, InFlightContent]> = [];
    for (const [name, p] of this.pending) {
      if (p.seq > seq) continue;
      if (p.seq < seq) applied.push(this.settle(name, p));
      else carried.push([name, p]);
    }
    const named = carried.filter(([name]) => mentions(detail, name));
    const blamed = new Set((named.length > 0 ? named : carried).map(([name]) => name));
    for (const [name, p] of carried) {
      if (!blamed.has(name)) {
        applied.push(this.settle(name, p));
        continue;
      }
      (this.rejected ??= new Map()).set(name, { resource: p.resource, versionInfo: p.versionInfo, detail, atMs });
      this.pending.delete(name);
    }
    this.apply(applied, atMs);
  }

  /** Takes a change out of flight: accepted content clears its rejection, a removal forgets it. */
  private settle(name: string, p: InFlightContent): AppliedChange {
    this.pending!.delete(name);
    this.clearRejected(name);
    return { name, resource: p.resource, versionInfo: p.versionInfo };
  }

  private apply(applied: readonly AppliedChange[], atMs: number): void {
    if (this.pending?.size === 0) this.pending = undefined;
    // A removal of what the client never ran changes nothing it runs.
    const changes = applied.filter((c) => c.resource !== undefined || this.running.slots.has(c.name));
    if (changes.length === 0) return;
    const prev = this.running;
    const next = prev.after(changes);
    this.running = next;
    if (next.names === prev.names) {
      // Same slots (the usual push): stamp the changed ones in place.
      for (const c of changes) this.acceptedAtMs[next.slots.get(c.name)!] = atMs;
      return;
    }
    const changed = new Set(changes.map((c) => c.name));
    this.acceptedAtMs = next.names.map((n) => (changed.has(n) ? atMs : this.acceptedAtMs[prev.slots.get(n)!]!));
  }

  private clearRejected(name: string): void {
    if (!this.rejected?.delete(name)) return;
    if (this.rejected.size === 0) this.rejected = undefined;
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
