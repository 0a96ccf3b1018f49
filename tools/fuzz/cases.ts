// What the fuzzer throws: one case is one gRPC call (ADS state of the world, ADS delta, LRS, or an
// admin method) with the frames to write on it. Each case starts from a request a real client would
// send and is then mutated — fields made absent, empty, huge, foreign or contradictory; lists made
// long; bytes flipped, cut or replaced; the gRPC framing itself broken — or it is a sequence of
// requests (ACK/NACK/stale storms). Load reports are built so that every cluster entry carries at
// least one defect that must keep it from the controller, and admin calls with a valid token always
// carry at least one invalid argument: whatever Spillway does with a case, no weight may move.
import { gzipSync } from 'node:zlib';
import type { DeltaDiscoveryRequest } from '../../src/generated/envoy/service/discovery/v3/DeltaDiscoveryRequest.js';
import type { DiscoveryRequest } from '../../src/generated/envoy/service/discovery/v3/DiscoveryRequest.js';
import type { ClusterStats } from '../../src/generated/envoy/config/endpoint/v3/ClusterStats.js';
import type { LoadStatsRequest } from '../../src/generated/envoy/service/load_stats/v3/LoadStatsRequest.js';
import { localityOf } from '../../src/model/localities.js';
import { loadAdminProtos } from '../../src/admin/admin-protos.js';
import { loadProtos } from '../../src/protos/load-protos.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import { Gen } from './gen.js';
import { ADS_DELTA_PATH, ADS_SOTW_PATH, LRS_PATH } from './raw-grpc.js';

export const CaseKind = { Sotw: 'ads-sotw', Delta: 'ads-delta', Lrs: 'lrs', Admin: 'admin' } as const;
export type CaseKind = (typeof CaseKind)[keyof typeof CaseKind];

/** Who a case speaks as: its certificate's node id (or none), and which node id it claims. */
export interface FuzzCase {
  kind: CaseKind;
  index: number;
  /** What was done to the request, for the figures and for replaying a failure. */
  mutation: string;
  path: string;
  headers: Record<string, string>;
  /** Complete gRPC frames (5-byte prefix included), possibly broken on purpose. */
  frames: Buffer[];
  /** Half-close after the frames (unary calls; some streams). */
  halfClose: boolean;
}

/** What the generator needs to know about the target. */
export interface FuzzTarget {
  /** The node id the fuzzer's certificate carries (the rule accepts it), and one that may also report load. */
  ownNode: string;
  /** A node id that belongs to someone else (a real Envoy). */
  othersNode: string;
  /** Services and in-house endpoints that exist (admin cases use them, always beside an invalid argument). */
  services: readonly string[];
  endpoints: readonly string[];
  /** The admin token, to reach argument validation; cases with it always carry an invalid argument. */
  adminToken: string;
  limits: { maxNames: number; maxMessageBytes: number; adminMaxMessageBytes: number; maxReasonBytes: number };
}

const ads = loadProtos().protos.envoy.service.discovery.v3.AggregatedDiscoveryService.service;
const lrsService = loadProtos().protos.envoy.service.load_stats.v3.LoadReportingService.service;
const admin = loadAdminProtos().protos.spillway.admin.v1.Admin.service;
const TYPES = [TypeUrl.Cluster, TypeUrl.Endpoint, TypeUrl.Listener, TypeUrl.Route] as const;

/** A gRPC frame: flag byte, big-endian length, message. */
export function frame(message: Uint8Array, compressed = false): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

export function generateCase(kind: CaseKind, seed: number, index: number, target: FuzzTarget): FuzzCase {
  const g = new Gen(Gen.caseSeed(seed, kind, index));
  switch (kind) {
    case CaseKind.Sotw:
      return discoveryCase(g, kind, index, target, false);
    case CaseKind.Delta:
      return discoveryCase(g, kind, index, target, true);
    case CaseKind.Lrs:
      return lrsCase(g, index, target);
    case CaseKind.Admin:
      return adminCase(g, index, target);
  }
}

// ---- ADS ----------------------------------------------------------------------------------------

function discoveryCase(g: Gen, kind: CaseKind, index: number, t: FuzzTarget, delta: boolean): FuzzCase {
  const encode = (r: object): Buffer =>
    delta
      ? ads.DeltaAggregatedResources.requestSerialize(r as DeltaDiscoveryRequest)
      : ads.StreamAggregatedResources.requestSerialize(r as DiscoveryRequest);
  const first = (): Record<string, unknown> => {
    const type = g.pick(TYPES);
    const names = type === TypeUrl.Endpoint || type === TypeUrl.Route ? [...t.services] : [];
    return delta
      ? { node: { id: t.ownNode, cluster: 'fuzz' }, type_url: type, resource_names_subscribe: names }
      : { node: { id: t.ownNode, cluster: 'fuzz' }, type_url: type, resource_names: names };
  };
  const namesField = delta ? 'resource_names_subscribe' : 'resource_names';
  const mutations: Array<[string, () => Buffer[]]> = [
    ['type_url garbage', () => [encode({ ...first(), type_url: g.text(g.length()) })]],
    ['type_url unknown', () => [encode({ ...first(), type_url: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret' })]],
    ['type_url empty', () => [encode({ ...first(), type_url: '' })]],
    ['node absent', () => [encode({ ...first(), node: null })]],
    ['node id empty', () => [encode({ ...first(), node: { id: '' } })]],
    ['node id huge', () => [encode({ ...first(), node: { id: g.text(g.pick([1025, 5000, 70_000])) } })]],
    ['node id of another Envoy', () => [encode({ ...first(), node: { id: t.othersNode } })]],
    ['node id random', () => [encode({ ...first(), node: { id: g.text(g.range(1, 64)) } })]],
    [
      'names over the limit',
      () => [encode({ ...first(), [namesField]: Array.from({ length: t.limits.maxNames + 1 + g.int(100) }, (_, i) => `n${i}`) })],
    ],
    ['names long', () => [encode({ ...first(), [namesField]: [g.text(g.pick([1025, 5000]))] })]],
    [
      'names odd',
      () => [
        encode({
          ...first(),
          [namesField]: Array.from({ length: g.range(1, 20) }, () => g.pick(['', '*', t.services[0]!, g.text(g.range(1, 30))])),
        }),
      ],
    ],
    ['version huge', () => [encode({ ...first(), version_info: g.text(g.pick([257, 5000])) })]],
    ['nonce huge', () => [encode({ ...first(), response_nonce: g.text(g.pick([257, 5000])) })]],
    [
      'nonce random',
      () => [
        encode(first()),
        encode({ type_url: g.pick(TYPES), response_nonce: g.text(g.range(1, 40)), version_info: g.text(g.range(0, 20)) }),
      ],
    ],
    [
      'NACK with a huge detail',
      () => [
        encode(first()),
        encode({
          type_url: g.pick(TYPES),
          response_nonce: 'x',
          error_detail: { code: g.int(20), message: g.text(g.pick([100, 5000, 60_000])) },
        }),
      ],
    ],
    [
      'request storm',
      () => [
        encode(first()),
        ...Array.from({ length: g.range(150, 400) }, (_, i) => encode({ type_url: TYPES[i % 4], response_nonce: `n${i % 7}` })),
      ],
    ],
    ['bytes flipped', () => [flip(g, encode(first()))]],
    [
      'bytes cut',
      () => {
        const b = encode(first());
        return [b.subarray(0, g.int(b.length))];
      },
    ],
    ['bytes random', () => [g.bytes(g.range(1, 2000))]],
    ['bytes appended', () => [Buffer.concat([encode(first()), g.bytes(g.range(1, 200))])]],
    ['over max_message_bytes', () => [encode({ ...first(), [namesField]: [g.text(t.limits.maxMessageBytes + 10)] })]],
  ];
  if (delta) {
    mutations.push(
      [
        'initial versions over the limit',
        () => [
          encode({
            ...first(),
            initial_resource_versions: Object.fromEntries(Array.from({ length: t.limits.maxNames + 1 }, (_, i) => [`r${i}`, 'v'])),
          }),
        ],
      ],
      ['initial version huge', () => [encode({ ...first(), initial_resource_versions: { [t.services[0]!]: g.text(5000) } })]],
      [
        'unsubscribe what was never subscribed',
        () => [encode({ ...first(), resource_names_unsubscribe: Array.from({ length: g.range(1, 50) }, () => g.text(10)) })],
      ],
      [
        'subscription grown past the limit',
        () => {
          const per = Math.ceil(t.limits.maxNames / 4);
          return [
            encode(first()),
            ...Array.from({ length: 5 }, (_, k) =>
              encode({ type_url: TypeUrl.Endpoint, resource_names_subscribe: Array.from({ length: per }, (_, i) => `g${k}-${i}`) }),
            ),
          ];
        },
      ],
      [
        'wildcard flapping',
        () => [
          encode(first()),
          ...Array.from({ length: 20 }, (_, i) =>
            encode({ type_url: TypeUrl.Cluster, [i % 2 ? 'resource_names_unsubscribe' : 'resource_names_subscribe']: ['*'] }),
          ),
        ],
      ],
    );
  }
  const [mutation, build] = g.pick(mutations);
  const framing = g.chance(0.1) ? breakFraming(g) : undefined;
  const messages = build();
  const frames = framing ? framing.apply(messages) : messages.map((m) => frame(m));
  return {
    kind,
    index,
    mutation: framing ? `${mutation}; ${framing.name}` : mutation,
    path: delta ? ADS_DELTA_PATH : ADS_SOTW_PATH,
    headers: framing?.headers ?? {},
    frames,
    halfClose: g.chance(0.3),
  };
}

let bomb: Buffer | undefined;
/** 64 MiB of zeros, gzipped (64 KiB): made once per process. */
function gzipBomb(): Buffer {
  return (bomb ??= gzipSync(Buffer.alloc(64 << 20)));
}

function flip(g: Gen, b: Buffer): Buffer {
  const out = Buffer.from(b);
  for (let i = 0, n = g.range(1, 8); i < n && out.length > 0; i++) {
    const at = g.int(out.length);
    out[at] = (out[at] ?? 0) ^ (1 << g.int(8));
  }
  return out;
}

/** Broken gRPC framing: lengths that lie, the compression flag without compression, gzip that is not, a gzip bomb. */
function breakFraming(g: Gen): { name: string; headers?: Record<string, string>; apply(messages: Buffer[]): Buffer[] } {
  return g.pick([
    {
      name: 'length prefix longer than the message',
      apply: (m: Buffer[]) =>
        m.map((x) => {
          const f = frame(x);
          f.writeUInt32BE(x.length + g.range(1, 1000), 1);
          return f;
        }),
    },
    {
      name: 'length prefix of 100 MB',
      apply: (m: Buffer[]) =>
        m.map((x) => {
          const f = frame(x);
          f.writeUInt32BE(100 << 20, 1);
          return f;
        }),
    },
    { name: 'compressed flag without an encoding', apply: (m: Buffer[]) => m.map((x) => frame(x, true)) },
    { name: 'gzip that is not gzip', headers: { 'grpc-encoding': 'gzip' }, apply: (m: Buffer[]) => m.map((x) => frame(x, true)) },
    { name: 'gzip bomb', headers: { 'grpc-encoding': 'gzip' }, apply: () => [frame(gzipBomb(), true)] },
    { name: 'unknown encoding', headers: { 'grpc-encoding': 'br' }, apply: (m: Buffer[]) => m.map((x) => frame(x, true)) },
  ]);
}

// ---- LRS ----------------------------------------------------------------------------------------

/** A cluster entry with at least one defect that must keep it away from the controller. */
function badClusterStats(g: Gen, t: FuzzTarget): { stats: ClusterStats; defect: string } {
  const cluster = g.pick(t.services);
  const counts = (over: Partial<Record<'issued' | 'inProgress' | 'success' | 'errors', string>> = {}): object => ({
    locality: localityOf(g.pick(['in-house', 'modal'] as const)),
    total_issued_requests: over.issued ?? String(g.int(50)),
    total_successful_requests: over.success ?? String(g.int(50)),
    total_error_requests: over.errors ?? String(g.int(5)),
    total_requests_in_progress: over.inProgress ?? String(g.int(5)),
  });
  const base = (): ClusterStats => ({ cluster_name: cluster, load_report_interval: { seconds: 1 }, upstream_locality_stats: [counts()] });
  const defects: Array<[string, () => ClusterStats]> = [
    ['unknown cluster', () => ({ ...base(), cluster_name: g.text(g.range(1, 40)) })],
    ['no interval', () => ({ ...base(), load_report_interval: null })],
    ['zero interval', () => ({ ...base(), load_report_interval: { seconds: 0, nanos: 0 } })],
    ['negative interval', () => ({ ...base(), load_report_interval: { seconds: -g.range(1, 1000) } })],
    ['interval of a year', () => ({ ...base(), load_report_interval: { seconds: 31_536_000 } })],
    ['counter past 2^53', () => ({ ...base(), upstream_locality_stats: [counts({ issued: '18446744073709551615' })] })],
    [
      'in flight above the circuit breaker',
      () => ({ ...base(), upstream_locality_stats: [counts({ inProgress: String(1_000_001 + g.int(1e9)) })] }),
    ],
    ['rate above the ceiling', () => ({ ...base(), upstream_locality_stats: [counts({ issued: String(1_000_001 + g.int(1e9)) })] })],
    ['drops above the ceiling', () => ({ ...base(), total_dropped_requests: String(2_000_000 + g.int(1e6)) })],
    ['drop count past 2^53', () => ({ ...base(), dropped_requests: [{ category: g.text(8), dropped_count: '18446744073709551615' }] })],
  ];
  const [defect, build] = g.pick(defects);
  const stats = build();
  // Unknown localities beside the defect: ignored on their own, and no help to the entry.
  if (g.chance(0.3))
    stats.upstream_locality_stats = [
      ...(stats.upstream_locality_stats ?? []),
      { locality: { region: g.text(6), zone: g.text(6) }, total_issued_requests: '5' },
    ];
  return { stats, defect };
}

function lrsCase(g: Gen, index: number, t: FuzzTarget): FuzzCase {
  const encode = (r: LoadStatsRequest): Buffer => lrsService.StreamLoadStats.requestSerialize(r);
  const reports = (node: string | null, n: number): { frames: Buffer[]; defects: string[] } => {
    const defects: string[] = [];
    const frames = Array.from({ length: n }, (_, i) => {
      const entries = Array.from({ length: g.range(1, 4) }, () => badClusterStats(g, t));
      defects.push(...entries.map((e) => e.defect));
      return frame(encode({ ...(i === 0 && node !== null ? { node: { id: node } } : {}), cluster_stats: entries.map((e) => e.stats) }));
    });
    return { frames, defects };
  };
  const variants: Array<() => { mutation: string; frames: Buffer[] }> = [
    () => {
      const r = reports(t.ownNode, g.range(1, 5));
      return { mutation: `reports with defects: ${[...new Set(r.defects)].join(', ')}`, frames: r.frames };
    },
    () => ({ mutation: 'report as another Envoy', frames: reports(t.othersNode, 2).frames }),
    () => ({ mutation: 'report as a random node', frames: reports(g.text(g.range(1, 40)), 2).frames }),
    () => ({ mutation: 'report without a node', frames: reports(null, 2).frames }),
    () => ({ mutation: 'node id huge', frames: [frame(encode({ node: { id: g.text(5000) } }))] }),
    () => {
      // Past the burst: a few distinct reports, repeated (cheap to make, same load on the server).
      const some = reports(t.ownNode, 3).frames;
      return { mutation: 'report storm', frames: Array.from({ length: g.range(210, 300) }, (_, i) => some[i % 3]!) };
    },
    () => ({ mutation: 'bytes random', frames: [frame(g.bytes(g.range(1, 3000)))] }),
    () => ({
      mutation: 'bytes flipped',
      frames: [frame(flip(g, encode({ node: { id: t.ownNode }, cluster_stats: [badClusterStats(g, t).stats] })))],
    }),
  ];
  const v = g.pick(variants)();
  return { kind: CaseKind.Lrs, index, mutation: v.mutation, path: LRS_PATH, headers: {}, frames: v.frames, halfClose: g.chance(0.3) };
}

// ---- admin --------------------------------------------------------------------------------------

const ADMIN_MUTATIONS = ['Cordon', 'SoftCordon', 'Uncordon', 'Override', 'ClearOverride'] as const;

function adminCase(g: Gen, index: number, t: FuzzTarget): FuzzCase {
  const auth = g.pick(['none', 'wrong', 'valid', 'valid', 'valid'] as const);
  const headers: Record<string, string> =
    auth === 'none' ? {} : { authorization: `Bearer ${auth === 'valid' ? t.adminToken : g.pick([g.text(20), `${t.adminToken}x`, ''])}` };
  if (g.chance(0.15)) {
    // Reads: GetState of a random service (a real one answers, others are INVALID_ARGUMENT).
    const service = g.chance(0.5) ? g.pick(t.services) : g.text(g.length());
    const body = admin.GetState.requestSerialize({ service });
    return {
      kind: CaseKind.Admin,
      index,
      mutation: `GetState; token ${auth}`,
      path: '/spillway.admin.v1.Admin/GetState',
      headers,
      frames: [frame(body)],
      halfClose: true,
    };
  }
  const method = g.pick(ADMIN_MUTATIONS);
  const serialize = admin[method].requestSerialize as (r: object) => Buffer;
  // Valid values, then at least one field made invalid (so a valid token never applies anything).
  const req: Record<string, unknown> = {
    service: g.pick(t.services),
    endpoint: g.pick(t.endpoints),
    share: g.int(100) / 100,
    duration: { seconds: g.range(1, 3600) },
    reason: g.text(g.range(0, 20)),
  };
  const invalid: Array<[string, () => void]> = [
    ['unknown service', () => (req['service'] = g.chance(0.3) ? '' : g.text(g.length()))],
    ['share out of range', () => (req['share'] = g.pick([-0.0001, 1.0001, -1e9, 1e9, Number.NaN]))],
    ['duration negative', () => (req['duration'] = { seconds: -g.range(1, 1e6) })],
    ['duration over 24 h', () => (req['duration'] = { seconds: 86_401 + g.int(1e6) })],
    ['duration absent', () => delete req['duration']],
    ['reason oversized', () => (req['reason'] = g.text(t.limits.maxReasonBytes + 1 + g.int(1000)))],
  ];
  if (method !== 'Override' && method !== 'ClearOverride') {
    invalid.push(['unknown endpoint', () => (req['endpoint'] = g.pick(['', '10.9.9.9:1', g.text(g.length())]))]);
  }
  // ClearOverride reads only the service: its invalid argument must be the service.
  const chosen =
    method === 'ClearOverride'
      ? invalid.slice(0, 1)
      : invalid.filter(([n]) => (method === 'Override' ? true : !n.startsWith('share') && !n.startsWith('duration')));
  const picks = [g.pick(chosen), ...(g.chance(0.3) ? [g.pick(chosen)] : [])];
  for (const [, apply] of picks) apply();
  let body: Buffer = serialize(req);
  let mutation = `${method}: ${picks.map(([n]) => n).join(', ')}; token ${auth}`;
  if (g.chance(0.1)) {
    // Mangled bytes could mend the invalid argument; an unknown service keeps the call invalid.
    req['service'] = `no-such-${g.text(12)}`;
    body = serialize(req);
    body = g.pick([flip(g, body), g.bytes(g.range(1, 500)), Buffer.concat([body, g.bytes(t.limits.adminMaxMessageBytes)])]);
    mutation += '; bytes mangled';
  }
  return {
    kind: CaseKind.Admin,
    index,
    mutation,
    path: `/spillway.admin.v1.Admin/${method}`,
    headers,
    frames: [frame(body)],
    halfClose: true,
  };
}
