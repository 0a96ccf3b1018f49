import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { DiscoveryRequest__Output } from '../generated/envoy/service/discovery/v3/DiscoveryRequest.js';
import type { DiscoveryResponse } from '../generated/envoy/service/discovery/v3/DiscoveryResponse.js';
import type { Clock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Cancel } from '../core/scheduler.js';
import type { Snapshot } from './snapshot.js';
import type { SnapshotCache } from './snapshot-cache.js';
import { afterSend, onSotwRequest, pendingResponse, type SotwTypeState } from './sotw-state.js';
import { ADS_ORDER, TypeUrl, isKnownTypeUrl, shortType } from './type-urls.js';
import type { XdsEvents } from './xds-events.js';

type SotwCall = grpc.ServerDuplexStream<DiscoveryRequest__Output, DiscoveryResponse>;

export interface AdsServerOptions {
  cache: SnapshotCache;
  events: XdsEvents;
  clock: Clock;
  logger?: Logger;
}

/** Per-stream state: one sub-state per type URL, a single ordered writer. */
class SotwStream {
  nodeId = '';
  cluster = '';
  readonly types = new Map<TypeUrl, SotwTypeState>();
  /** Types that must be (re)considered on the next flush, with whether to send even if unchanged. */
  readonly dirty = new Map<TypeUrl, boolean>();
  blocked = false;
  closed = false;
  nonceSeq = 0;
  cancelWatch: Cancel = () => {};
  constructor(
    readonly id: number,
    readonly call: SotwCall,
    readonly noncePrefix: string,
  ) {}
}

/**
 * StreamAggregatedResources (state of the world). Each stream keeps per-type protocol state
 * (sotw-state.ts) and writes through one ordered flush (CDS → EDS → LDS → RDS), computed from the
 * latest snapshot at write time, so a slow stream gets the newest state per type instead of a queue.
 */
export class AdsServer {
  private readonly cache: SnapshotCache;
  private readonly events: XdsEvents;
  private readonly clock: Clock;
  private readonly log: Logger;
  private nextStreamId = 1;
  private readonly streams = new Set<SotwStream>();
  /** Last NACK per node and type, kept across reconnects so a rejected version is not re-sent on INIT. */
  private readonly nodeNacks = new Map<string, { version: string; detail: string }>();

  constructor(opts: AdsServerOptions) {
    this.cache = opts.cache;
    this.events = opts.events;
    this.clock = opts.clock;
    this.log = (opts.logger ?? silentLogger).child({ component: 'ads' });
  }

  connectedStreams(): number {
    return this.streams.size;
  }

  readonly streamAggregatedResources = (call: SotwCall): void => {
    const stream = new SotwStream(this.nextStreamId++, call, randomBytes(4).toString('hex'));
    this.streams.add(stream);
    stream.cancelWatch = this.cache.watch(new Set(ADS_ORDER), (snap, changed) => this.onSnapshot(stream, snap, changed));
    call.on('data', (req: DiscoveryRequest__Output) => this.onRequest(stream, req));
    call.on('drain', () => {
      stream.blocked = false;
      this.flush(stream);
    });
    const close = (): void => this.close(stream);
    call.on('end', () => {
      close();
      call.end();
    });
    call.on('cancelled', close);
    call.on('error', close);
    call.on('close', close);
  };

  /** Ends every stream (used on shutdown). */
  closeAll(): void {
    for (const s of [...this.streams]) {
      s.call.end();
      this.close(s);
    }
  }

  private close(stream: SotwStream): void {
    if (stream.closed) return;
    stream.closed = true;
    stream.cancelWatch();
    this.streams.delete(stream);
    if (stream.nodeId) this.events.emit({ kind: 'stream-closed', streamId: stream.id, nodeId: stream.nodeId, atMs: this.clock.nowMs() });
    this.log.debug({ streamId: stream.id, nodeId: stream.nodeId }, 'ADS stream closed');
  }

  private reject(stream: SotwStream, details: string): void {
    this.log.warn({ streamId: stream.id, nodeId: stream.nodeId, problem: details }, 'malformed ADS request; closing stream');
    stream.call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details });
    this.close(stream);
  }

  private onRequest(stream: SotwStream, req: DiscoveryRequest__Output): void {
    if (stream.closed) return;
    if (!stream.nodeId) {
      const id = req.node?.id ?? '';
      if (!id) return this.reject(stream, 'the first DiscoveryRequest on a stream must carry node.id');
      stream.nodeId = id;
      stream.cluster = req.node?.cluster ?? '';
      this.events.emit({ kind: 'stream-opened', streamId: stream.id, nodeId: id, cluster: stream.cluster, protocol: 'sotw', atMs: this.clock.nowMs() });
      this.log.info({ streamId: stream.id, nodeId: id, cluster: stream.cluster }, 'ADS stream opened');
    }
    if (!req.type_url) return this.reject(stream, 'type_url is required on every ADS DiscoveryRequest');
    if (!isKnownTypeUrl(req.type_url)) {
      return this.reject(stream, `unsupported type_url "${req.type_url}"; Spillway serves ${ADS_ORDER.join(', ')}`);
    }
    const typeUrl = req.type_url;
    const errorDetail = req.error_detail ? req.error_detail.message || `code ${req.error_detail.code}` : undefined;
    const prev = stream.types.get(typeUrl);
    const outcome = onSotwRequest(prev, {
      typeUrl,
      versionInfo: req.version_info,
      nonce: req.response_nonce,
      names: req.resource_names,
      ...(errorDetail !== undefined ? { errorDetail } : {}),
    });
    stream.types.set(typeUrl, outcome.state);
    const base = { streamId: stream.id, nodeId: stream.nodeId, typeUrl, nonce: req.response_nonce, atMs: this.clock.nowMs() };
    const nackKey = `${stream.nodeId}\u0000${typeUrl}`;
    switch (outcome.kind) {
      case 'nack': {
        const version = outcome.state.lastNack?.version ?? '';
        this.nodeNacks.set(nackKey, { version, detail: errorDetail ?? '' });
        this.events.emit({ ...base, kind: 'nack', version, detail: errorDetail ?? '' });
        this.log.warn({ ...base, type: shortType(typeUrl), rejectedVersion: version, detail: errorDetail }, 'Envoy NACKed; keeping its last good config, not resending');
        return;
      }
      case 'ack':
        this.events.emit({ ...base, kind: 'ack', version: req.version_info });
        if (req.version_info === outcome.state.lastVersionSent) this.nodeNacks.delete(nackKey);
        break;
      case 'stale':
        this.events.emit({ ...base, kind: 'stale-nonce' });
        return;
      case 'unsubscribe':
        return;
      case 'init': {
        // A reconnecting Envoy that already rejected exactly this version keeps its old config;
        // sending the same content again would only be NACKed again.
        const nack = this.nodeNacks.get(nackKey);
        const snap = this.cache.current();
        if (nack && req.version_info && snap && snap.types[typeUrl].version === nack.version) {
          stream.types.set(typeUrl, { ...outcome.state, lastVersionSent: nack.version });
          return;
        }
        break;
      }
    }
    if (outcome.respond) {
      stream.dirty.set(typeUrl, outcome.namesAdded || (stream.dirty.get(typeUrl) ?? false));
      this.flush(stream);
    }
  }

  private onSnapshot(stream: SotwStream, _snap: Snapshot, changed: ReadonlySet<TypeUrl>): void {
    for (const t of changed) if (stream.types.has(t) && !stream.dirty.has(t)) stream.dirty.set(t, false);
    this.flush(stream);
  }

  private flush(stream: SotwStream): void {
    const snap = this.cache.current();
    if (!snap || stream.blocked || stream.closed) return;
    for (const typeUrl of ADS_ORDER) {
      if (stream.blocked) return;
      const force = stream.dirty.get(typeUrl);
      if (force === undefined) continue;
      stream.dirty.delete(typeUrl);
      const state = stream.types.get(typeUrl);
      if (!state) continue;
      const resources = pendingResponse(state, snap.types[typeUrl], force);
      if (!resources) continue;
      const version = snap.types[typeUrl].version;
      const nonce = `${stream.noncePrefix}-${++stream.nonceSeq}`;
      const response: DiscoveryResponse = {
        version_info: version,
        type_url: typeUrl,
        nonce,
        resources: resources.map((r) => ({ type_url: typeUrl, value: r.value })),
      };
      stream.types.set(typeUrl, afterSend(state, resources, version, nonce));
      if (typeUrl === TypeUrl.Cluster) {
        // Envoy re-requests a changed cluster's CLA with a request that looks like an ACK; answer it.
        const eds = stream.types.get(TypeUrl.Endpoint);
        if (eds) stream.types.set(TypeUrl.Endpoint, { ...eds, forceRespond: true });
      }
      const bytes = resources.reduce((n, r) => n + r.value.length, 0);
      this.events.emit({ kind: 'sent', streamId: stream.id, nodeId: stream.nodeId, typeUrl, version, nonce, resources: resources.length, bytes, atMs: this.clock.nowMs() });
      this.log.debug({ streamId: stream.id, nodeId: stream.nodeId, type: shortType(typeUrl), version, nonce, resources: resources.length }, 'sent');
      if (!stream.call.write(response)) stream.blocked = true;
    }
  }
}
