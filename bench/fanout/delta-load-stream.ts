import type { DeltaDiscoveryRequest } from '../../src/generated/envoy/service/discovery/v3/DeltaDiscoveryRequest.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import { adsCodec, type DeltaResponseView } from './ads-codec.js';
import type { GrpcH2Call, GrpcH2Connection } from './grpc-h2.js';
import { clusterInfo, listenerInfo } from './resource-names.js';
import { diffNames, LoadStream } from './load-stream.js';
import { wallMs } from './wall-clock.js';

const DELTA_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';

/**
 * An incremental (delta) ADS stream behaving like Envoy: legacy wildcard for CDS and LDS, explicit
 * subscribe/unsubscribe for EDS and RDS as clusters and listeners come and go, every response ACKed
 * by echoing its nonce. The client keeps the per-resource state a delta server does not resend.
 */
export class DeltaLoadStream extends LoadStream {
  private call: GrpcH2Call | undefined;
  private readonly codec = adsCodec();
  /** cluster name → EDS name; listener name → its route names. */
  private readonly clusters = new Map<string, string | undefined>();
  private readonly listeners = new Map<string, string[]>();

  start(connection: GrpcH2Connection): void {
    this.call = connection.open(DELTA_PATH, {
      message: (bytes) => this.onResponse(this.codec.decodeDeltaResponse(bytes), bytes.length),
      end: (reason) => this.end(reason),
    });
    this.send({ node: this.node, type_url: TypeUrl.Cluster });
  }

  close(): void {
    this.ended = true;
    this.call?.cancel();
  }

  private send(req: DeltaDiscoveryRequest): void {
    if (!this.ended) this.call?.write(this.codec.encodeDeltaRequest(req));
  }

  private ack(r: DeltaResponseView): void {
    this.send({ type_url: r.type_url, response_nonce: r.nonce });
  }

  private resubscribe(typeUrl: string, prev: ReadonlySet<string>, next: ReadonlySet<string>): void {
    const { added, removed } = diffNames(prev, next);
    if (added.length + removed.length === 0) return;
    this.send({ type_url: typeUrl, resource_names_subscribe: added, resource_names_unsubscribe: removed });
  }

  private onResponse(r: DeltaResponseView, bytes: number): void {
    const receivedAtMs = wallMs();
    this.noteResponse(bytes);
    switch (r.type_url) {
      case TypeUrl.Cluster: {
        for (const res of r.resources) this.clusters.set(res.name, clusterInfo(res.resource)?.edsName);
        for (const n of r.removed_resources) this.clusters.delete(n);
        this.ack(r);
        this.noteAck(r.type_url);
        const prev = this.edsNames;
        this.edsNames = new Set([...this.clusters.values()].filter((n): n is string => n !== undefined));
        this.resubscribe(TypeUrl.Endpoint, prev, this.edsNames);
        if (this.edsNames.size === 0) this.requestLds();
        return;
      }
      case TypeUrl.Endpoint:
        this.ack(r);
        this.recordEds({ version: r.system_version_info || r.nonce, receivedAtMs, ackedAtMs: wallMs(), bytes });
        this.noteAck(r.type_url);
        this.requestLds();
        return;
      case TypeUrl.Listener: {
        for (const res of r.resources) this.listeners.set(res.name, listenerInfo(res.resource)?.routeNames ?? [res.name]);
        for (const n of r.removed_resources) this.listeners.delete(n);
        this.ack(r);
        const prev = this.routeNames;
        this.routeNames = new Set([...this.listeners.values()].flat());
        this.noteAck(r.type_url);
        this.resubscribe(TypeUrl.Route, prev, this.routeNames);
        return;
      }
      default:
        this.ack(r);
        if (r.type_url === TypeUrl.Route) this.noteAck(r.type_url);
    }
  }

  private requestLds(): void {
    if (this.ldsRequested) return;
    this.ldsRequested = true;
    this.send({ type_url: TypeUrl.Listener });
  }
}
