// Runs the publish → push → ACK path before Envoys connect, so the first real push is not the one
// V8 compiles it on (a cold push cost 2–4× the CPU of a warm one, and missed the 100 ms target at
// 1,000 streams). Everything runs on private copies: its own publisher, snapshot cache, events and
// ADS server, driven by simulated streams of both protocols whose requests and responses go through
// the real serializers. Nothing of it is visible to Envoys, the read model or the metrics.
import type * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import type { ServiceConfig } from '../config/config-types.js';
import type { Clock } from '../core/clock.js';
import { planForShare } from '../model/traffic-plan.js';
import type { SpillwayProtos } from '../protos/load-protos.js';
import { AdsServer } from '../xds/ads-server.js';
import { SnapshotCache } from '../xds/snapshot-cache.js';
import { SyncStatus } from '../xds/sync-status.js';
import { TypeUrl } from '../xds/type-urls.js';
import { XdsEvents } from '../xds/xds-events.js';
import { Publisher } from './publisher.js';

export interface WarmUpOptions {
  services: readonly ServiceConfig[];
  protos: SpillwayProtos;
  /** The ADS service definition the real server uses (with its response serializers). */
  service: grpc.ServiceDefinition;
  clock: Clock;
  /**
   * Simulated streams per protocol (default 60: together more than one flush turn's worth, so the
   * queued path runs too) and pushes (default 15). About 0.3 s of CPU at start-up; the JIT's code and
   * compiler memory it brings forward (≈ 10 MiB of RSS) a server would otherwise grow on its first pushes.
   */
  streams?: number;
  pushes?: number;
}

export interface WarmUpResult {
  pushes: number;
  streams: number;
  acks: number;
  ms: number;
  cpuMs: number;
}

type Message = Record<string, unknown>;

/** A duplex call as the ADS glue sees it: requests arrive as 'data', responses leave through write(). */
class SimulatedCall extends EventEmitter {
  constructor(
    private readonly peer: string,
    private readonly onResponse: (msg: Message) => void,
  ) {
    super();
  }

  /** One connection per simulated stream, so the gate's per-connection limit never binds here. */
  getPeer(): string {
    return this.peer;
  }

  getAuthContext(): Record<string, never> {
    return {};
  }

  write(msg: Message, cb?: () => void): boolean {
    this.onResponse(msg);
    if (cb) queueMicrotask(cb);
    return true;
  }

  end(): void {}
}

export async function warmUpPushPath(opts: WarmUpOptions): Promise<WarmUpResult> {
  const started = opts.clock.nowMs();
  const cpu = process.cpuUsage();
  const streams = opts.streams ?? 60;
  const pushes = opts.pushes ?? 15;
  const services = opts.services.filter((s) => s.modal);
  const cache = new SnapshotCache();
  const events = new XdsEvents();
  const publisher = new Publisher(cache, opts.protos, opts.services);
  const syncStatus = new SyncStatus({ clock: opts.clock, events, currentVersion: (t) => cache.current()?.types[t].version });
  publisher.onPublish((r) => {
    for (const t of r.changed) syncStatus.notePublished(t, cache.current()?.types[t].version ?? '', opts.clock.nowMs());
  });
  if (!publisher.publish().ok) return { pushes: 0, streams: 0, acks: 0, ms: 0, cpuMs: 0 };
  const ads = new AdsServer({ cache, events, clock: opts.clock, protos: opts.protos });
  let acks = 0;
  events.on((e) => {
    if (e.kind === 'ack') acks++;
  });
  const snap = cache.current()!;
  const clusters = [...snap.types[TypeUrl.Endpoint].resources.keys()];
  const routes = [...snap.types[TypeUrl.Route].resources.keys()];
  const sotw = opts.service['StreamAggregatedResources'];
  const delta = opts.service['DeltaAggregatedResources'];
  if (!sotw || !delta) throw new Error('warm-up needs the ADS service definition');

  const namesOf = (type: TypeUrl): readonly string[] | undefined =>
    type === TypeUrl.Endpoint ? clusters : type === TypeUrl.Route ? routes : undefined;
  const [sotwAsks, deltaAsks] = [sotwRequests(namesOf), deltaRequests(namesOf)];
  type SotwCall = Parameters<AdsServer['streamAggregatedResources']>[0];
  type DeltaCall = Parameters<AdsServer['deltaAggregatedResources']>[0];
  for (let i = 0; i < streams; i++) {
    openSimulated(`warm-up-sotw-${i}`, sotw, sotwAsks, (call) => ads.streamAggregatedResources(call as unknown as SotwCall));
    openSimulated(`warm-up-delta-${i}`, delta, deltaAsks, (call) => ads.deltaAggregatedResources(call as unknown as DeltaCall));
  }
  const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
  for (let i = 0; i < 20; i++) await settle();
  for (let k = 0; k < pushes && services.length > 0; k++) {
    const s = services[k % services.length]!;
    publisher.setPlan(s.name, planForShare(0.05 + ((0.037 * (k + 1)) % 0.9)));
    for (let i = 0; i < 10; i++) await settle();
  }
  ads.closeAll();
  syncStatus.close();
  const used = process.cpuUsage(cpu);
  return { pushes, streams: 2 * streams, acks, ms: opts.clock.nowMs() - started, cpuMs: Math.round((used.user + used.system) / 1000) };
}

/**
 * One simulated Envoy: ACKs every response, subscribes to CDS first, then EDS for every cluster and
 * LDS once CDS arrives, then RDS once LDS arrives (Envoy's warming order). Requests go through the
 * real request (de)serializers, responses through the real response serializer.
 */
function openSimulated(
  id: string,
  def: grpc.MethodDefinition<unknown, unknown>,
  requests: Requests,
  serve: (call: SimulatedCall) => void,
): void {
  const asked = new Set<TypeUrl>();
  const send = (m: Message): void => {
    const req = def.requestDeserialize(def.requestSerialize(m));
    queueMicrotask(() => call.emit('data', req));
  };
  const call = new SimulatedCall(id, (msg) => {
    def.responseSerialize(msg);
    const type = msg['type_url'] as TypeUrl;
    send(requests.ack(type, msg));
    if (type === TypeUrl.Cluster && !asked.has(TypeUrl.Endpoint)) {
      asked.add(TypeUrl.Endpoint);
      send(requests.subscribe(TypeUrl.Endpoint));
      send(requests.subscribe(TypeUrl.Listener));
    }
    if (type === TypeUrl.Listener && !asked.has(TypeUrl.Route)) {
      asked.add(TypeUrl.Route);
      send(requests.subscribe(TypeUrl.Route));
    }
  });
  serve(call);
  send({ node: { id, cluster: 'warm-up' }, ...requests.subscribe(TypeUrl.Cluster) });
}

/** How one protocol phrases the two requests a simulated Envoy sends. */
interface Requests {
  /** A subscription to a type (its names; a wildcard type by its protocol's wildcard). */
  subscribe(type: TypeUrl): Message;
  /** The ACK of a response. */
  ack(type: TypeUrl, response: Message): Message;
}

/** State of the world: names in every request (none for a wildcard type), ACKs repeat them. */
function sotwRequests(namesOf: (type: TypeUrl) => readonly string[] | undefined): Requests {
  return {
    subscribe: (type) => {
      const names = namesOf(type);
      return names ? { type_url: type, resource_names: names } : { type_url: type };
    },
    ack: (type, r) => ({
      type_url: type,
      version_info: r['version_info'],
      response_nonce: r['nonce'],
      resource_names: namesOf(type) ?? [],
    }),
  };
}

/** Delta: names subscribed once ('*' for a wildcard type), ACKs carry only the nonce. */
function deltaRequests(namesOf: (type: TypeUrl) => readonly string[] | undefined): Requests {
  return {
    subscribe: (type) => ({ type_url: type, resource_names_subscribe: namesOf(type) ?? ['*'] }),
    ack: (type, r) => ({ type_url: type, response_nonce: r['nonce'] }),
  };
}
