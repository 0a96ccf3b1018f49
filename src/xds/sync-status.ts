// Per-Envoy, per-type xDS sync status (what Envoy's CSDS and Istio's /debug/syncz report), built
// only from XdsEvents so the ADS server never waits on it. Also measures publish-to-ACK latency:
// the time from the snapshot cache publishing a version to each Envoy ACKing it.
import { Listeners } from '../core/listeners.js';
import type { Clock } from '../core/clock.js';
import type { NodeInfo } from './node-info.js';
import { PerType } from './per-type.js';
import { ResourceLedger, type ResourceTrack } from './resource-sync.js';
import { ADS_ORDER, isWildcardType, shortType, type TypeUrl } from './type-urls.js';
import type { XdsEvent, XdsEvents } from './xds-events.js';

/** Envoy admin's CSDS ConfigStatus vocabulary (also Istio syncz's). */
export type SyncState = 'SYNCED' | 'STALE' | 'NOT_SENT' | 'ERROR';

export interface SentResponse {
  version: string;
  nonce: string;
  atMs: number;
  resources: number;
  bytes: number;
}

export interface AckedResponse {
  version: string;
  nonce: string;
  atMs: number;
}

export interface NackedResponse {
  /** The version Envoy still runs (a NACK carries the last accepted version). */
  version: string;
  nonce: string;
  detail: string;
  atMs: number;
}

export interface SyncStatusRow {
  nodeId: string;
  /** Envoy's node.cluster (its service-cluster label), not an xDS cluster. */
  nodeCluster: string;
  /** What the node said about itself when its stream opened. */
  node: NodeInfo;
  streamId: number;
  protocol: 'sotw' | 'delta';
  connectedAtMs: number;
  typeUrl: TypeUrl;
  type: ReturnType<typeof shortType>;
  status: SyncState;
  /** What the snapshot cache holds now for this type, if it said. */
  currentVersion?: string;
  sent?: SentResponse;
  acked?: AckedResponse;
  /** The latest NACK on this stream, kept after later ACKs for debugging. */
  lastNack?: NackedResponse;
  staleNonces: number;
  /** Publish-to-ACK time of the latest version this node ACKed, when the publish time is known. */
  lastPublishToAckMs?: number;
  /**
   * Unless SYNCED: since when the node has lacked a version it should run, i.e. the publish time
   * of the first version after the one it ACKed (never before its stream opened).
   */
  unsyncedSinceMs?: number;
}

export interface SyncStatusSnapshot {
  atMs: number;
  /** Connected nodes × tracked types, sorted by node id then ADS order. */
  rows: readonly SyncStatusRow[];
}

export interface AckLatencySample {
  nodeId: string;
  typeUrl: TypeUrl;
  version: string;
  /** From notePublished(typeUrl, version) to this node's ACK of that version. */
  latencyMs: number;
  ackedAtMs: number;
}

export interface SyncStatusOptions {
  clock: Clock;
  events: XdsEvents;
  /** The version the snapshot cache currently holds for a type (undefined: unknown / none). */
  currentVersion: (typeUrl: TypeUrl) => string | undefined;
  /** Types each connected node gets a row for. Default: every type Spillway serves. */
  types?: readonly TypeUrl[];
  /** Publish times remembered per type; older versions are forgotten. Default 64. */
  publishHistory?: number;
}

/** Every field is always present (one object shape: updated once per stream per push). */
interface TypeState {
  sent: SentResponse | undefined;
  acked: AckedResponse | undefined;
  lastNack: NackedResponse | undefined;
  /** True when the last response sent was NACKed (a later send clears it). */
  lastResponseNacked: boolean;
  /** Delta: a newer version had nothing for this stream; holds once the response `nonce` is ACKed. */
  upToDate: { version: string; nonce: string } | undefined;
  staleNonces: number;
  lastPublishToAckMs: number | undefined;
  /** The last version a latency sample was taken for (carried over a reconnect, see ackedBefore). */
  sampledVersion: string | undefined;
  /** Per resource: what the client runs, has in flight, rejected (resource-sync.ts). */
  resources: ResourceLedger;
  /** The stream-local order of the response in `sent` (orders per-resource ACKs). */
  sentSeq: number;
}

interface NodeState {
  nodeCluster: string;
  node: NodeInfo;
  streamId: number;
  protocol: 'sotw' | 'delta';
  openedAtMs: number;
  /** Responses sent on this stream so far (orders them for per-resource ACKs). */
  sends: number;
  types: PerType<TypeState>;
  /** What this node's previous stream had sampled, if it reconnected (see ackedBefore). */
  sampledBefore: ReadonlyMap<TypeUrl, string> | undefined;
}

/** Bound on how many disconnected nodes' acked versions are remembered (see `ackedBefore`). */
const MAX_REMEMBERED_NODES = 10_000;

export class SyncStatus {
  private readonly clock: Clock;
  private readonly currentVersion: (typeUrl: TypeUrl) => string | undefined;
  private readonly types: readonly TypeUrl[];
  private readonly publishHistory: number;
  private readonly nodes = new Map<string, NodeState>();
  /** Per type: version → publish time, in publish order. */
  private readonly published = new Map<TypeUrl, Map<string, number>>();
  /**
   * Per disconnected node and type, the last version a latency sample was taken for, so an Envoy
   * that reconnects and re-ACKs what it already had is not measured as a slow rollout. Connected
   * nodes keep this in their TypeState.
   */
  private readonly ackedBefore = new Map<string, Map<TypeUrl, string>>();
  private readonly latencyListeners = new Listeners<[AckLatencySample]>();
  private readonly unsubscribe: () => void;

  constructor(options: SyncStatusOptions) {
    this.clock = options.clock;
    this.currentVersion = options.currentVersion;
    this.types = options.types ?? ADS_ORDER;
    this.publishHistory = options.publishHistory ?? 64;
    this.unsubscribe = options.events.on((event) => this.apply(event));
  }

  /** The snapshot cache calls this when it makes `version` the current one for a type. */
  notePublished(typeUrl: TypeUrl, version: string, atMs: number): void {
    const versions = this.published.get(typeUrl) ?? new Map<string, number>();
    if (!versions.has(version)) versions.set(version, atMs);
    while (versions.size > this.publishHistory) {
      const oldest = versions.keys().next().value;
      if (oldest === undefined) break;
      versions.delete(oldest);
    }
    this.published.set(typeUrl, versions);
  }

  snapshot(): SyncStatusSnapshot {
    const rows: SyncStatusRow[] = [];
    const nodeIds = [...this.nodes.keys()].sort();
    for (const nodeId of nodeIds) {
      const node = this.nodes.get(nodeId);
      if (!node) continue;
      for (const typeUrl of this.types) rows.push(this.row(nodeId, node, typeUrl));
    }
    return { atMs: this.clock.nowMs(), rows };
  }

  /** Rows for one node, or an empty list if it is not connected. */
  node(nodeId: string): SyncStatusRow[] {
    const node = this.nodes.get(nodeId);
    return node ? this.types.map((t) => this.row(nodeId, node, t)) : [];
  }

  /** Called once per (node, type, version) ACK whose publish time is known: feed a histogram. */
  onAckLatency(listener: (sample: AckLatencySample) => void): () => void {
    return this.latencyListeners.add(listener);
  }

  /** Stops listening to XdsEvents. */
  close(): void {
    this.unsubscribe();
    this.latencyListeners.clear();
  }

  private apply(event: XdsEvent): void {
    if (event.kind === 'stream-opened') {
      // A new stream starts from scratch: Envoy drops nonces on reconnect and re-requests everything.
      // A node replacing a stream it still had open carries that stream's samples over too.
      const replaced = this.nodes.get(event.nodeId);
      const sampledBefore = replaced ? sampledVersions(replaced) : this.ackedBefore.get(event.nodeId);
      this.nodes.set(event.nodeId, {
        nodeCluster: event.cluster,
        node: event.node,
        streamId: event.streamId,
        protocol: event.protocol,
        openedAtMs: event.atMs,
        sends: 0,
        types: new PerType(),
        sampledBefore,
      });
      return;
    }
    const node = this.nodes.get(event.nodeId);
    // Events of a stream the node has since replaced say nothing about its current state.
    if (!node || node.streamId !== event.streamId) return;

    switch (event.kind) {
      case 'stream-closed': {
        this.nodes.delete(event.nodeId);
        const sampled = sampledVersions(node);
        this.ackedBefore.delete(event.nodeId);
        if (sampled.size > 0) this.ackedBefore.set(event.nodeId, sampled);
        this.rememberBounded();
        break;
      }
      case 'sent': {
        const state = this.typeState(node, event.typeUrl);
        const { version, nonce, resources, bytes, atMs } = event;
        state.sent = { version, nonce, resources, bytes, atMs };
        state.lastResponseNacked = false;
        const seq = ++node.sends;
        state.sentSeq = seq;
        state.resources.sent({
          nonce,
          resources: event.content,
          removed: event.removed,
          complete: node.protocol === 'sotw' && isWildcardType(event.typeUrl),
          perResourceVersions: node.protocol === 'delta',
          versionInfo: version,
          seq,
          atMs,
        });
        break;
      }
      case 'ack': {
        const state = this.typeState(node, event.typeUrl);
        state.acked = { version: event.version, nonce: event.nonce, atMs: event.atMs };
        if (state.sent?.nonce === event.nonce) state.lastResponseNacked = false;
        const seq = seqOf(state, event.nonce);
        if (seq !== undefined) state.resources.acked(seq, event.atMs);
        this.sampleLatency(event.nodeId, state, event.typeUrl, event.version, event.atMs);
        break;
      }
      case 'nack': {
        const state = this.typeState(node, event.typeUrl);
        state.lastNack = { version: event.version, nonce: event.nonce, detail: event.detail, atMs: event.atMs };
        if (state.sent === undefined || state.sent.nonce === event.nonce) state.lastResponseNacked = true;
        const seq = seqOf(state, event.nonce);
        if (seq !== undefined) state.resources.nacked(seq, event.detail, event.atMs);
        break;
      }
      case 'holds': {
        // Nothing was sent because the client already runs this version: as if sent and ACKed.
        const state = this.typeState(node, event.typeUrl);
        state.sent = { version: event.version, nonce: '', resources: 0, bytes: 0, atMs: event.atMs };
        state.acked = { version: event.version, nonce: '', atMs: event.atMs };
        state.lastResponseNacked = false;
        break;
      }
      case 'up-to-date': {
        const state = this.typeState(node, event.typeUrl);
        if (state.sent) state.upToDate = { version: event.version, nonce: state.sent.nonce };
        break;
      }
      case 'stale-nonce':
        this.typeState(node, event.typeUrl).staleNonces++;
        break;
    }
  }

  private row(nodeId: string, node: NodeState, typeUrl: TypeUrl): SyncStatusRow {
    const state = node.types.get(typeUrl);
    const currentVersion = this.currentVersion(typeUrl);
    const status = statusOf(state, currentVersion);
    const row: SyncStatusRow = {
      nodeId,
      nodeCluster: node.nodeCluster,
      node: node.node,
      streamId: node.streamId,
      protocol: node.protocol,
      connectedAtMs: node.openedAtMs,
      typeUrl,
      type: shortType(typeUrl),
      status,
      staleNonces: state?.staleNonces ?? 0,
    };
    if (status !== 'SYNCED') row.unsyncedSinceMs = this.unsyncedSince(node, typeUrl, state);
    if (currentVersion !== undefined) row.currentVersion = currentVersion;
    if (state?.sent) row.sent = state.sent;
    if (state?.acked) row.acked = state.acked;
    if (state?.lastNack) row.lastNack = state.lastNack;
    if (state?.lastPublishToAckMs !== undefined) row.lastPublishToAckMs = state.lastPublishToAckMs;
    return row;
  }

  /** The publish time of the first version after the one the node ACKed, not before its stream opened. */
  private unsyncedSince(node: NodeState, typeUrl: TypeUrl, state: TypeState | undefined): number {
    const acked = state?.acked?.version;
    const versions = this.published.get(typeUrl);
    if (acked === undefined || !versions) return node.openedAtMs;
    let seen = !versions.has(acked);
    for (const [version, atMs] of versions) {
      if (seen) return Math.max(node.openedAtMs, atMs);
      if (version === acked) seen = true;
    }
    // It ACKed the newest version and a response is still out (or it was NACKed): since that went out.
    return Math.max(node.openedAtMs, state?.sent?.atMs ?? node.openedAtMs);
  }

  /**
   * Per resource of a type, what a connected node runs, has in flight and rejected (for CSDS);
   * empty when the node is not connected. Built on each call (a copy).
   */
  resources(nodeId: string, typeUrl: TypeUrl): ReadonlyMap<string, Readonly<ResourceTrack>> {
    return this.nodes.get(nodeId)?.types.get(typeUrl)?.resources.tracks() ?? EMPTY_TRACKS;
  }

  private typeState(node: NodeState, typeUrl: TypeUrl): TypeState {
    let state = node.types.get(typeUrl);
    if (!state) {
      state = {
        sent: undefined,
        acked: undefined,
        lastNack: undefined,
        lastResponseNacked: false,
        upToDate: undefined,
        staleNonces: 0,
        lastPublishToAckMs: undefined,
        sampledVersion: node.sampledBefore?.get(typeUrl),
        resources: new ResourceLedger(),
        sentSeq: 0,
      };
      node.types.set(typeUrl, state);
    }
    return state;
  }

  private sampleLatency(nodeId: string, state: TypeState, typeUrl: TypeUrl, version: string, ackedAtMs: number): void {
    if (state.sampledVersion === version) return;
    const publishedAtMs = this.published.get(typeUrl)?.get(version);
    if (publishedAtMs === undefined) return;
    state.sampledVersion = version;
    const latencyMs = Math.max(0, ackedAtMs - publishedAtMs);
    state.lastPublishToAckMs = latencyMs;
    this.latencyListeners.emit({ nodeId, typeUrl, version, latencyMs, ackedAtMs });
  }

  /** Forgets the oldest disconnected nodes' ACK history once it grows past the bound. */
  private rememberBounded(): void {
    for (const nodeId of this.ackedBefore.keys()) {
      if (this.ackedBefore.size <= MAX_REMEMBERED_NODES) break;
      if (!this.nodes.has(nodeId)) this.ackedBefore.delete(nodeId);
    }
  }
}

const EMPTY_TRACKS: ReadonlyMap<string, ResourceTrack> = new Map();

/**
 * The order of the response a nonce answers: the last one sent (nearly every ACK), else one whose
 * changed resources are still in flight. An ACK of an older response that changed nothing still
 * in flight settles nothing; the next ACK settles everything before it.
 */
function seqOf(state: TypeState, nonce: string): number | undefined {
  if (state.sent?.nonce === nonce) return state.sentSeq;
  return state.resources.inFlightSeq(nonce);
}

/** Per type, the last sampled version: this stream's, else what its predecessors had sampled. */
function sampledVersions(node: NodeState): Map<TypeUrl, string> {
  const sampled = new Map(node.sampledBefore ?? []);
  for (const t of ADS_ORDER) {
    const sampledVersion = node.types.get(t)?.sampledVersion;
    if (sampledVersion !== undefined) sampled.set(t, sampledVersion);
  }
  return sampled;
}

/**
 * NOT_SENT: nothing sent on this stream. ERROR: the last response was NACKed. STALE: the last
 * response is not ACKed yet, or the ACKed version is older than the cache's current one (unless,
 * on delta, that version had nothing for this stream). SYNCED otherwise.
 */
function statusOf(state: TypeState | undefined, currentVersion: string | undefined): SyncState {
  if (!state?.sent) return 'NOT_SENT';
  if (state.lastResponseNacked) return 'ERROR';
  if (state.acked?.nonce !== state.sent.nonce) return 'STALE';
  if (currentVersion !== undefined && state.acked.version !== currentVersion) {
    const upToDate = state.upToDate?.nonce === state.sent.nonce && state.upToDate.version === currentVersion;
    if (!upToDate) return 'STALE';
  }
  return 'SYNCED';
}
