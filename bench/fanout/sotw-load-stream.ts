import type { DiscoveryRequest } from '../../src/generated/envoy/service/discovery/v3/DiscoveryRequest.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import { adsCodec, type SotwResponseView } from './ads-codec.js';
import type { GrpcH2Call, GrpcH2Connection } from './grpc-h2.js';
import { clusterInfo, listenerInfo } from './resource-names.js';
import { LoadStream } from './load-stream.js';
import { wallMs } from './wall-clock.js';

const SOTW_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

/** Last version and nonce seen per type: what every SotW request for that type echoes. */
interface Seen {
  version: string;
  nonce: string;
}

/**
 * A state-of-the-world ADS stream behaving like Envoy: wildcard CDS and LDS, EDS and RDS by name,
 * every response ACKed by echoing its version and nonce with the current names. Node identity on
 * the first request only (Envoy's set_node_on_first_message_only).
 */
export class SotwLoadStream extends LoadStream {
  private call: GrpcH2Call | undefined;
  private readonly seen = new Map<string, Seen>();
  private readonly codec = adsCodec();

  start(connection: GrpcH2Connection): void {
    this.call = connection.open(SOTW_PATH, {
      message: (bytes) => this.onResponse(this.codec.decodeSotwResponse(bytes), bytes.length),
      end: (reason) => this.end(reason),
    });
    this.send({ node: this.node, type_url: TypeUrl.Cluster, resource_names: [] });
  }

  close(): void {
    this.ended = true;
    this.call?.cancel();
  }

  private send(req: DiscoveryRequest): void {
    if (!this.ended) this.call?.write(this.codec.encodeSotwRequest(req));
  }

  private ack(r: SotwResponseView, names: readonly string[]): void {
    this.seen.set(r.type_url, { version: r.version_info, nonce: r.nonce });
    this.send({ type_url: r.type_url, version_info: r.version_info, response_nonce: r.nonce, resource_names: [...names] });
  }

  /** A subscription change carries the last accepted version and nonce of the type, like Envoy's. */
  private subscribe(typeUrl: string, names: ReadonlySet<string>): void {
    const s = this.seen.get(typeUrl);
    this.send({ type_url: typeUrl, version_info: s?.version ?? '', response_nonce: s?.nonce ?? '', resource_names: [...names].sort() });
  }

  private onResponse(r: SotwResponseView, bytes: number): void {
    const receivedAtMs = wallMs();
    this.noteResponse(bytes);
    switch (r.type_url) {
      case TypeUrl.Cluster: {
        const eds = new Set<string>();
        for (const any of r.resources) {
          const c = clusterInfo(any);
          if (c?.edsName) eds.add(c.edsName);
        }
        this.ack(r, []);
        this.noteAck(r.type_url);
        const changed = eds.size !== this.edsNames.size || [...eds].some((n) => !this.edsNames.has(n));
        this.edsNames = eds;
        if (changed) this.subscribe(TypeUrl.Endpoint, eds);
        if (eds.size === 0) this.requestLds();
        return;
      }
      case TypeUrl.Endpoint: {
        this.ack(r, [...this.edsNames].sort());
        this.recordEds({ version: r.version_info, receivedAtMs, ackedAtMs: wallMs(), bytes });
        this.noteAck(r.type_url);
        // Envoy asks for listeners once its clusters are warm (their first CLA arrived).
        this.requestLds();
        return;
      }
      case TypeUrl.Listener: {
        const routes = new Set<string>();
        for (const any of r.resources) for (const n of listenerInfo(any)?.routeNames ?? []) routes.add(n);
        this.ack(r, []);
        const changed = routes.size !== this.routeNames.size || [...routes].some((n) => !this.routeNames.has(n));
        this.routeNames = routes;
        this.noteAck(r.type_url);
        if (changed) this.subscribe(TypeUrl.Route, routes);
        return;
      }
      case TypeUrl.Route:
        this.ack(r, [...this.routeNames].sort());
        this.noteAck(r.type_url);
        return;
      default:
        // A type this tool never asked for: ACK it so the server is not left waiting.
        this.ack(r, []);
    }
  }

  private requestLds(): void {
    if (this.ldsRequested) return;
    this.ldsRequested = true;
    this.send({ type_url: TypeUrl.Listener, resource_names: [] });
  }
}
