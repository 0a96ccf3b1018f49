import * as grpc from '@grpc/grpc-js';
import type { DeltaDiscoveryRequest__Output } from '../generated/envoy/service/discovery/v3/DeltaDiscoveryRequest.js';
import type { DeltaDiscoveryResponse } from '../generated/envoy/service/discovery/v3/DeltaDiscoveryResponse.js';
import type { DiscoveryRequest__Output } from '../generated/envoy/service/discovery/v3/DiscoveryRequest.js';
import type { DiscoveryResponse } from '../generated/envoy/service/discovery/v3/DiscoveryResponse.js';
import type { Status__Output } from '../generated/google/rpc/Status.js';
import type { Clock } from '../core/clock.js';
import type { SpillwayProtos } from '../protos/load-protos.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { AdsStream } from './ads-stream.js';
import { refusalOf, type Refusal } from './bounded-requests.js';
import { FlushQueue } from './flush-queue.js';
import { nodeInfoOf, type NodeLike } from './node-info.js';
import { openDeltaSession } from './delta-state.js';
import type { Outgoing, ProtocolSession, Subscription } from './protocol.js';
import { approximateSize, ResponseBodies } from './response-bodies.js';
import type { Snapshot } from './snapshot.js';
import type { SnapshotCache } from './snapshot-cache.js';
import { openSotwSession } from './sotw-state.js';
import { ADS_ORDER, isKnownTypeUrl, shortType, type TypeUrl } from './type-urls.js';
import type { XdsEvents } from './xds-events.js';
import { StreamTicket, XdsGate } from './xds-gate.js';

const NONE: readonly string[] = [];

type SotwCall = grpc.ServerDuplexStream<DiscoveryRequest__Output, DiscoveryResponse>;
type DeltaCall = grpc.ServerDuplexStream<DeltaDiscoveryRequest__Output, DeltaDiscoveryResponse>;

export interface AdsServerOptions {
  cache: SnapshotCache;
  events: XdsEvents;
  clock: Clock;
  logger?: Logger;
  protos: SpillwayProtos;
  /** Streams written per event-loop turn when a snapshot change wakes them all (see flush-queue.ts). Default 100. */
  pushBatch?: number;
  /** Limits and node identity, checked before a request reaches its session. Default: the default limits. */
  gate?: XdsGate;
}

interface RequestHead {
  node?: NodeLike | null;
  type_url: string;
  response_nonce: string;
  error_detail: Status__Output | null;
}

/**
 * StreamAggregatedResources (state of the world) and DeltaAggregatedResources (incremental) over
 * the same snapshot cache. The protocol decisions are pure sessions (sotw-state.ts, delta-state.ts);
 * this class is the glue, once for both: stream lifecycle, node identity, events, logging and the
 * ordered writer.
 */
export class AdsServer {
  private readonly cache: SnapshotCache;
  private readonly events: XdsEvents;
  private readonly clock: Clock;
  private readonly log: Logger;
  private nextStreamId = 1;
  private readonly streams = new Set<AdsStream<unknown>>();
  /** Each open stream's subscriptions, by stream id (read by CSDS). */
  private readonly subscriptions = new Map<number, (typeUrl: TypeUrl) => Subscription | undefined>();
  /** Resources encoded once per distinct list, not once per stream (see response-bodies.ts). */
  private readonly bodies: ResponseBodies;
  /** A push reaches every stream through this queue: a bounded number of streams per loop turn. */
  private readonly pushes: FlushQueue<() => void>;
  private readonly gate: XdsGate;
  private readonly tickets = new WeakMap<AdsStream<unknown>, StreamTicket>();

  constructor(opts: AdsServerOptions) {
    this.cache = opts.cache;
    this.events = opts.events;
    this.clock = opts.clock;
    this.log = (opts.logger ?? silentLogger).child({ component: 'ads' });
    this.bodies = new ResponseBodies(opts.protos);
    this.pushes = new FlushQueue((flushStream) => flushStream(), opts.pushBatch ?? 100);
    this.gate = opts.gate ?? new XdsGate({ clock: opts.clock, logger: this.log });
  }

  connectedStreams(): number {
    return this.streams.size;
  }

  /** What an open stream subscribes to for a type; undefined for a closed stream or a type it never asked for. */
  subscription(streamId: number, typeUrl: TypeUrl): Subscription | undefined {
    return this.subscriptions.get(streamId)?.(typeUrl);
  }

  /** Ends every stream (used on shutdown). */
  closeAll(): void {
    for (const s of [...this.streams]) {
      s.call.end();
      this.close(s);
    }
  }

  readonly streamAggregatedResources = (call: SotwCall): void => {
    this.serve(call, 'sotw', openSotwSession);
  };

  readonly deltaAggregatedResources = (call: DeltaCall): void => {
    this.serve(call, 'delta', openDeltaSession);
  };

  /** One stream of either protocol: the session decides, this glue writes, reports and logs. */
  private serve<Req extends RequestHead, Resp>(
    call: grpc.ServerDuplexStream<Req, Resp>,
    protocol: 'sotw' | 'delta',
    open: (bodies: ResponseBodies, nextNonce: () => string) => ProtocolSession<Req, Resp>,
  ): void {
    const ticket = this.gate.admit('ads', call);
    if (!(ticket instanceof StreamTicket)) return void call.emit('error', ticket);
    const metered = this.gate.meter<Resp>(ticket, call, approximateSize, (r) => this.refuse(stream, r));
    const stream: AdsStream<Resp> = new AdsStream<Resp>(this.nextStreamId++, metered);
    this.tickets.set(stream as AdsStream<unknown>, ticket);
    const session = open(this.bodies, () => stream.nextNonce());
    this.subscriptions.set(stream.id, (t) => session.subscription(t));
    // The gate bounds a delta subscription's size from the names the session holds (no second copy).
    if (protocol === 'delta') ticket.subscribedNames = (t) => (isKnownTypeUrl(t) ? session.subscription(t)?.names : undefined);
    const build = (typeUrl: TypeUrl, snap: Snapshot, force: boolean): Resp | undefined => {
      const step = session.respond(typeUrl, snap, force);
      if (step.holds !== undefined) {
        this.events.emit({
          kind: 'holds',
          streamId: stream.id,
          nodeId: stream.nodeId,
          typeUrl,
          version: step.holds,
          atMs: this.clock.nowMs(),
        });
      }
      if (step.upToDate !== undefined) {
        this.events.emit({
          kind: 'up-to-date',
          streamId: stream.id,
          nodeId: stream.nodeId,
          typeUrl,
          version: step.upToDate,
          atMs: this.clock.nowMs(),
        });
      }
      if (step.wake) stream.markDirty(step.wake, true);
      if (!step.sent) return undefined;
      this.noteSent(stream, typeUrl, step.sent);
      return step.sent.response;
    };
    this.attach(stream, call, protocol, build, (req, typeUrl, errorDetail) => {
      const verdict = session.onRequest(typeUrl, req, errorDetail, this.cache.current());
      const nonce = req.response_nonce;
      const atMs = this.clock.nowMs();
      switch (verdict.kind) {
        case 'nack':
          this.noteNack(stream, typeUrl, verdict.version, nonce, errorDetail ?? '');
          break;
        case 'ack':
          this.events.emit({ kind: 'ack', streamId: stream.id, nodeId: stream.nodeId, typeUrl, version: verdict.version, nonce, atMs });
          break;
        case 'stale':
          this.events.emit({ kind: 'stale-nonce', streamId: stream.id, nodeId: stream.nodeId, typeUrl, nonce, atMs });
          break;
        case 'holds':
          this.events.emit({ kind: 'holds', streamId: stream.id, nodeId: stream.nodeId, typeUrl, version: verdict.version, atMs });
          break;
        case 'init':
        case 'quiet':
          break;
      }
      if (!verdict.flush) return;
      stream.markDirty(typeUrl, verdict.force);
      stream.flush(this.cache.current(), build);
    });
  }

  /** Stream lifecycle shared by both protocols: node identity, validation, snapshot watch, close. */
  private attach<Req extends RequestHead, Resp>(
    stream: AdsStream<Resp>,
    call: grpc.ServerDuplexStream<Req, Resp>,
    protocol: 'sotw' | 'delta',
    build: (typeUrl: TypeUrl, snap: Snapshot, force: boolean) => Resp | undefined,
    handle: (req: Req, typeUrl: TypeUrl, errorDetail: string | undefined) => void,
  ): void {
    this.streams.add(stream as AdsStream<unknown>);
    // Queued streams are written from the snapshot current when their turn comes: never older.
    const flushLatest = (): void => {
      try {
        stream.flush(this.cache.current(), build);
      } catch (err) {
        this.failStream(stream, err);
      }
    };
    const unwatch = this.cache.watch(new Set(ADS_ORDER), (_snap, changed) => {
      for (const t of changed) stream.markDirty(t, false);
      this.pushes.add(flushLatest);
    });
    stream.cancelWatch = () => {
      unwatch();
      this.pushes.delete(flushLatest);
    };
    call.on('data', (req: Req) => {
      if (stream.closed) return;
      const ticket = this.tickets.get(stream as AdsStream<unknown>)!;
      const undecodable = refusalOf(req);
      const refusal = undecodable ? this.gate.refused(ticket, undecodable) : this.gate.screen(ticket, req);
      if (refusal) return this.refuse(stream, refusal);
      if (!stream.nodeId) {
        const id = req.node?.id ?? '';
        if (!id) return this.reject(stream, 'the first request on an ADS stream must carry node.id');
        stream.nodeId = id;
        stream.nodeCluster = req.node?.cluster ?? '';
        this.events.emit({
          kind: 'stream-opened',
          streamId: stream.id,
          nodeId: id,
          cluster: stream.nodeCluster,
          node: nodeInfoOf(req.node),
          protocol,
          atMs: this.clock.nowMs(),
        });
        this.log.info({ streamId: stream.id, nodeId: id, cluster: stream.nodeCluster, protocol }, 'ADS stream opened');
      }
      if (!req.type_url) return this.reject(stream, 'type_url is required on every ADS request');
      if (!isKnownTypeUrl(req.type_url)) {
        return this.reject(stream, `unsupported type_url "${req.type_url}"; Spillway serves ${ADS_ORDER.join(', ')}`);
      }
      const e = req.error_detail;
      try {
        handle(req, req.type_url, e ? e.message || `code ${e.code}` : undefined);
      } catch (err) {
        this.failStream(stream, err);
      }
    });
    call.on('drain', () => {
      stream.blocked = false;
      flushLatest();
    });
    const close = (): void => this.close(stream);
    call.on('end', () => {
      close();
      call.end();
    });
    call.on('cancelled', close);
    call.on('error', close);
    call.on('close', close);
  }

  /** A bug handling one stream ends that stream (Envoy reconnects), never the process or a push. */
  private failStream(stream: AdsStream<unknown>, err: unknown): void {
    this.log.error(
      { streamId: stream.id, nodeId: stream.nodeId, error: err instanceof Error ? err.message : String(err) },
      'ADS stream handling failed',
    );
    stream.call.emit('error', { code: grpc.status.INTERNAL, details: 'internal error handling the request' });
    this.close(stream);
  }

  private noteSent(stream: AdsStream<unknown>, typeUrl: TypeUrl, sent: Outgoing<unknown>): void {
    const { version, nonce, resources } = sent;
    const bytes = resources.reduce((n, r) => n + r.value.length, 0);
    this.events.emit({
      kind: 'sent',
      streamId: stream.id,
      nodeId: stream.nodeId,
      typeUrl,
      version,
      nonce,
      resources: resources.length,
      bytes,
      content: resources,
      removed: sent.removed ?? NONE,
      atMs: this.clock.nowMs(),
    });
    // Hot path (once per stream per push): build the log object only when it will be written.
    if (this.log.isLevelEnabled('debug')) {
      this.log.debug(
        { streamId: stream.id, nodeId: stream.nodeId, type: shortType(typeUrl), version, nonce, resources: resources.length },
        'sent',
      );
    }
  }

  private noteNack(stream: AdsStream<unknown>, typeUrl: TypeUrl, version: string, nonce: string, detail: string): void {
    this.events.emit({
      kind: 'nack',
      streamId: stream.id,
      nodeId: stream.nodeId,
      typeUrl,
      version,
      nonce,
      detail,
      atMs: this.clock.nowMs(),
    });
    this.log.warn(
      { streamId: stream.id, nodeId: stream.nodeId, type: shortType(typeUrl), rejectedVersion: version, detail },
      'Envoy NACKed; it keeps its last good config and this version is not resent on this stream',
    );
  }

  private reject(stream: AdsStream<unknown>, details: string): void {
    // Counted and logged (once per peer) by the gate, like every other refusal.
    const ticket = this.tickets.get(stream);
    if (ticket) this.gate.refused(ticket, { code: grpc.status.INVALID_ARGUMENT, rule: 'xds protocol', details });
    stream.call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details });
    this.close(stream);
  }

  /** A client broke a limit or rule (xds-gate.ts): the stream ends with the status naming it. */
  private refuse(stream: AdsStream<unknown>, refusal: Refusal): void {
    if (stream.closed) return;
    stream.call.emit('error', { code: refusal.code, details: refusal.details });
    this.close(stream);
  }

  private close(stream: AdsStream<unknown>): void {
    if (stream.closed) return;
    this.gate.release(this.tickets.get(stream));
    stream.closed = true;
    stream.cancelWatch();
    this.streams.delete(stream);
    this.subscriptions.delete(stream.id);
    if (stream.nodeId) this.events.emit({ kind: 'stream-closed', streamId: stream.id, nodeId: stream.nodeId, atMs: this.clock.nowMs() });
    this.log.debug({ streamId: stream.id, nodeId: stream.nodeId }, 'ADS stream closed');
  }
}
