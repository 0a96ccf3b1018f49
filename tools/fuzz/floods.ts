// Floods: what one misbehaving client does in bulk rather than in content. Thousands of streams
// opened and dropped (cancelled, half-closed, or their connection torn down), TLS handshakes without
// a certificate, clients that subscribe and then never read, and subscriptions to 100,000 names.
import type { DeltaDiscoveryRequest } from '../../src/generated/envoy/service/discovery/v3/DeltaDiscoveryRequest.js';
import type { DiscoveryRequest } from '../../src/generated/envoy/service/discovery/v3/DiscoveryRequest.js';
import { loadProtos } from '../../src/protos/load-protos.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import { ADS_DELTA_PATH, ADS_SOTW_PATH, RawGrpcConnection, type ClientTls, type RawGrpcCall } from './raw-grpc.js';
import { namesProblem, type Identity } from './run-cases.js';

const ads = loadProtos().protos.envoy.service.discovery.v3.AggregatedDiscoveryService.service;
const sotw = (r: DiscoveryRequest): Buffer => ads.StreamAggregatedResources.requestSerialize(r);
const delta = (r: DeltaDiscoveryRequest): Buffer => ads.DeltaAggregatedResources.requestSerialize(r);

export interface FloodFigures {
  name: string;
  /** Streams or connections attempted. */
  tried: number;
  /** How they ended: "served", "refused CODE rule", "handshake refused", … */
  outcomes: Record<string, number>;
  /** Statuses that did not name the problem. */
  violations: string[];
  ms: number;
}

const tally = (f: FloodFigures, key: string): void => {
  f.outcomes[key] = (f.outcomes[key] ?? 0) + 1;
};

/** The key a status is counted under: its code and the limit or rule it names. */
function refusalKey(code: number | undefined, message: string): string {
  const rule = /\b(xds|lrs|admin)\.(limits\.[a-z_]+|node_identity|reporters)\b/.exec(message)?.[0] ?? message.slice(0, 60);
  return `refused ${code} ${rule}`;
}

async function settled(call: RawGrpcCall, ms: number): Promise<{ code: number | undefined; message: string } | undefined> {
  return Promise.race([call.ended, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms))]);
}

/**
 * `total` streams, each opened with a valid first request and dropped: cancelled at once, cancelled
 * after its first response, or half-closed. Streams run `perIdentity` at a time per identity
 * (under the per-node stream limit), over one connection per identity.
 */
export async function streamChurn(xds: string, identities: readonly Identity[], total: number, perIdentity = 6): Promise<FloodFigures> {
  const f: FloodFigures = { name: 'streams opened and dropped', tried: 0, outcomes: {}, violations: [], ms: 0 };
  const start = Date.now();
  let next = 0;
  const worker = async (identity: Identity, conn: { c: RawGrpcConnection; uses: number }): Promise<void> => {
    for (let i = next++; i < total; i = next++) {
      // A fresh connection every 100 streams, or when the server closed it.
      if (conn.c.session.closed || conn.c.session.destroyed || ++conn.uses > 100) {
        const old = conn.c;
        setTimeout(() => old.close(), 5000).unref();
        conn.c = new RawGrpcConnection(xds, identity.tls ? { tls: identity.tls } : {});
        conn.uses = 1;
      }
      f.tried++;
      const deltaStream = i % 2 === 1;
      const call = conn.c.open(deltaStream ? ADS_DELTA_PATH : ADS_SOTW_PATH);
      call.send(
        deltaStream
          ? delta({ node: { id: identity.node }, type_url: TypeUrl.Cluster })
          : sotw({ node: { id: identity.node }, type_url: TypeUrl.Cluster }),
      );
      const how = i % 3;
      if (how === 0) {
        call.cancel();
        tally(f, 'cancelled at once');
        continue;
      }
      const end = await Promise.race([
        call.ended,
        new Promise<undefined>((resolve) => {
          const t = setInterval(() => {
            if (call.messages.length > 0) {
              clearInterval(t);
              resolve(undefined);
            }
          }, 5);
          setTimeout(() => {
            clearInterval(t);
            resolve(undefined);
          }, 3000);
        }),
      ]);
      if (end) {
        // No status: the server closed the whole connection (HTTP/2 flood protection against rapid resets).
        if (end.code === undefined) tally(f, 'connection closed by the server (HTTP/2 GOAWAY)');
        else {
          tally(f, refusalKey(end.code, end.message));
          if (!namesProblem(end.code, end.message)) f.violations.push(`${end.code}: ${end.message}`);
        }
        continue;
      }
      tally(f, call.messages.length > 0 ? 'served, then dropped' : 'no answer in 3 s, dropped');
      if (how === 1) call.cancel();
      else call.end();
    }
  };
  const conns = identities.map((id) => ({ id, c: { c: new RawGrpcConnection(xds, id.tls ? { tls: id.tls } : {}), uses: 0 } }));
  await Promise.all(conns.flatMap(({ id, c }) => Array.from({ length: perIdentity }, () => worker(id, c))));
  for (const { c } of conns) c.c.close();
  f.ms = Date.now() - start;
  return f;
}

/** `total` connections, each carrying one stream and torn down without a goodbye (no RST_STREAM, no GOAWAY). */
export async function connectionChurn(xds: string, identity: Identity, total: number, concurrency = 8): Promise<FloodFigures> {
  const f: FloodFigures = { name: 'connections dropped mid-stream', tried: 0, outcomes: {}, violations: [], ms: 0 };
  const start = Date.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < total; i = next++) {
      f.tried++;
      const conn = new RawGrpcConnection(xds, identity.tls ? { tls: identity.tls } : {});
      const err = await conn.ready;
      if (err) {
        tally(f, `connect failed: ${err.message.slice(0, 40)}`);
        conn.close();
        continue;
      }
      const call = conn.open(ADS_SOTW_PATH);
      call.send(sotw({ node: { id: identity.node }, type_url: TypeUrl.Cluster }));
      const end = await settled(call, 20);
      if (end) tally(f, refusalKey(end.code, end.message));
      else tally(f, 'dropped');
      // Gone without RST_STREAM or a graceful GOAWAY, as a crashed client or a cut cable.
      conn.session.destroy(new Error('client vanished'));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  f.ms = Date.now() - start;
  return f;
}

/** TLS connections with no client certificate, or one from another CA: refused in the handshake. */
export async function handshakeFlood(xds: string, tls: ClientTls, total: number, concurrency = 8): Promise<FloodFigures> {
  const f: FloodFigures = { name: 'TLS handshakes without a valid client certificate', tried: 0, outcomes: {}, violations: [], ms: 0 };
  const start = Date.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < total; i = next++) {
      f.tried++;
      const conn = new RawGrpcConnection(xds, { tls });
      const call = conn.open(ADS_SOTW_PATH);
      call.send(sotw({ node: { id: 'anonymous' }, type_url: TypeUrl.Cluster }));
      const end = await settled(call, 3000);
      if (call.messages.length > 0) tally(f, 'served (!)');
      else if (!end || end.code === undefined) tally(f, 'handshake refused');
      else tally(f, refusalKey(end.code, end.message));
      conn.close();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  f.ms = Date.now() - start;
  return f;
}

/** Clients that subscribe to every type and never read (an HTTP/2 window of 0). Held until close(). */
export function neverReaders(xds: string, identity: Identity, count: number): { calls: RawGrpcCall[]; close(): void } {
  const conns: RawGrpcConnection[] = [];
  const calls: RawGrpcCall[] = [];
  for (let i = 0; i < count; i++) {
    const conn = new RawGrpcConnection(xds, { ...(identity.tls ? { tls: identity.tls } : {}), neverRead: true });
    conns.push(conn);
    const call = conn.open(ADS_SOTW_PATH, { neverRead: true });
    call.send(sotw({ node: { id: identity.node }, type_url: TypeUrl.Cluster }));
    call.send(sotw({ type_url: TypeUrl.Endpoint, resource_names: ['echo'] }));
    call.send(sotw({ type_url: TypeUrl.Listener }));
    call.send(sotw({ type_url: TypeUrl.Route, resource_names: ['echo'] }));
    calls.push(call);
  }
  return { calls, close: () => conns.forEach((c) => c.close()) };
}

/** Subscriptions to 100,000 names: SotW and delta in one request, and delta grown 5,000 at a time. */
export async function hugeSubscriptions(xds: string, identity: Identity, names = 100_000): Promise<FloodFigures> {
  const f: FloodFigures = {
    name: `subscriptions to ${names.toLocaleString('en-US')} names`,
    tried: 0,
    outcomes: {},
    violations: [],
    ms: 0,
  };
  const start = Date.now();
  const all = Array.from({ length: names }, (_, i) => `service-${i}`);
  const attempts: Array<[string, (call: RawGrpcCall) => void, string]> = [
    [
      'SotW, one request',
      (c) => c.send(sotw({ node: { id: identity.node }, type_url: TypeUrl.Endpoint, resource_names: all })),
      ADS_SOTW_PATH,
    ],
    [
      'delta, one request',
      (c) => c.send(delta({ node: { id: identity.node }, type_url: TypeUrl.Endpoint, resource_names_subscribe: all })),
      ADS_DELTA_PATH,
    ],
    [
      'delta, 5,000 at a time',
      (c) => {
        c.send(delta({ node: { id: identity.node }, type_url: TypeUrl.Endpoint }));
        for (let i = 0; i < names; i += 5000)
          c.send(delta({ type_url: TypeUrl.Endpoint, resource_names_subscribe: all.slice(i, i + 5000) }));
      },
      ADS_DELTA_PATH,
    ],
  ];
  for (const [label, send, path] of attempts) {
    f.tried++;
    const conn = new RawGrpcConnection(xds, identity.tls ? { tls: identity.tls } : {});
    const call = conn.open(path);
    send(call);
    const end = await settled(call, 10_000);
    if (!end) tally(f, `${label}: accepted (!)`);
    else {
      tally(f, `${label}: ${refusalKey(end.code, end.message)}`);
      if (end.code === undefined || !namesProblem(end.code, end.message)) f.violations.push(`${label}: ${end.code}: ${end.message}`);
    }
    conn.close();
  }
  f.ms = Date.now() - start;
  return f;
}
