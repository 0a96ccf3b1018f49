// A DiscoveryResponse's resources are the same bytes for every stream that gets the same list;
// only the envelope (version, nonce, type URL) differs. The resources field is encoded once per
// distinct list; each stream's response is its few envelope strings written in front of those
// shared bytes, in one allocation (a push at 1,000 streams does this 1,000 times).
// Protobuf allows fields in any order and concatenated encodings of one message merge, so
// envelope ++ resources is a valid encoding of the whole message.
import type * as grpc from '@grpc/grpc-js';
import type { DeltaDiscoveryResponse } from '../generated/envoy/service/discovery/v3/DeltaDiscoveryResponse.js';
import type { DiscoveryResponse } from '../generated/envoy/service/discovery/v3/DiscoveryResponse.js';
import type { SpillwayProtos } from '../protos/load-protos.js';
import type { EncodedResource } from './snapshot.js';
import type { TypeUrl } from './type-urls.js';

const PRE_ENCODED = Symbol('preEncoded');

/** Field numbers from envoy/service/discovery/v3/discovery.proto. */
const SOTW = { version_info: 1, type_url: 4, nonce: 5 } as const;
const DELTA = { system_version_info: 1, type_url: 4, nonce: 5, removed_resources: 6 } as const;

/** Length-delimited string fields (field number, value, field number, value, …) followed by the shared resources field. */
interface PreEncoded {
  head: ReadonlyArray<number | string>;
  body: Buffer;
}

type WithPreEncoded<T> = T & { [PRE_ENCODED]?: PreEncoded };

/** Distinct resource lists remembered per protocol; a push needs one or two, a rollout a few. */
const MAX_BODIES = 64;

export interface SotwEnvelope {
  version_info: string;
  type_url: TypeUrl;
  nonce: string;
}

export interface DeltaEnvelope {
  system_version_info: string;
  type_url: TypeUrl;
  nonce: string;
  removed_resources: readonly string[];
}

/** Encoded `resources` fields, keyed by type, names and content versions. */
export class ResponseBodies {
  private readonly sotw: Bodies = { cache: new Map(), last: { typeUrl: undefined, resources: [], body: Buffer.alloc(0) } };
  private readonly delta: Bodies = { cache: new Map(), last: { typeUrl: undefined, resources: [], body: Buffer.alloc(0) } };

  constructor(private readonly protos: SpillwayProtos) {}

  /**
   * The response to write: its envelope fields, with the resources carried pre-encoded (only the
   * service's serializer from withPreEncodedResponses can write it; the `resources` array is empty).
   */
  sotwResponse(typeUrl: TypeUrl, resources: readonly EncodedResource[], envelope: SotwEnvelope): DiscoveryResponse {
    const body = bodyFor(this.sotw, typeUrl, resources, () =>
      this.protos.envoy.service.discovery.v3.DiscoveryResponse.serialize({
        resources: resources.map((r) => ({ type_url: typeUrl, value: r.value })),
      }),
    );
    const head = [SOTW.version_info, envelope.version_info, SOTW.type_url, envelope.type_url, SOTW.nonce, envelope.nonce];
    const response: WithPreEncoded<DiscoveryResponse> = {
      version_info: envelope.version_info,
      type_url: envelope.type_url,
      nonce: envelope.nonce,
      [PRE_ENCODED]: { head, body },
    };
    return response;
  }

  deltaResponse(typeUrl: TypeUrl, resources: readonly EncodedResource[], envelope: DeltaEnvelope): DeltaDiscoveryResponse {
    const body = bodyFor(this.delta, typeUrl, resources, () =>
      this.protos.envoy.service.discovery.v3.DeltaDiscoveryResponse.serialize({
        resources: resources.map((r) => ({ name: r.name, version: r.version, resource: { type_url: typeUrl, value: r.value } })),
      }),
    );
    const head: Array<number | string> = [
      DELTA.system_version_info,
      envelope.system_version_info,
      DELTA.type_url,
      envelope.type_url,
      DELTA.nonce,
      envelope.nonce,
    ];
    for (const name of envelope.removed_resources) head.push(DELTA.removed_resources, name);
    const response: WithPreEncoded<DeltaDiscoveryResponse> = {
      system_version_info: envelope.system_version_info,
      type_url: envelope.type_url,
      nonce: envelope.nonce,
      removed_resources: [...envelope.removed_resources],
      [PRE_ENCODED]: { head, body },
    };
    return response;
  }
}

/**
 * One protocol's encoded bodies: by type, names and versions, and the list asked for last — a push
 * asks for one list stream after stream (SotW shares the array itself; delta builds an equal one per
 * stream, so the last list is compared element by element before the key is built).
 */
interface Bodies {
  cache: Map<string, Buffer>;
  last: { typeUrl: TypeUrl | undefined; resources: readonly EncodedResource[]; body: Buffer };
}

function bodyFor(bodies: Bodies, typeUrl: TypeUrl, resources: readonly EncodedResource[], encode: () => Buffer): Buffer {
  const last = bodies.last;
  if (last.typeUrl === typeUrl && sameResources(last.resources, resources)) return last.body;
  const body = remember(bodies.cache, key(typeUrl, resources), encode);
  last.typeUrl = typeUrl;
  last.resources = resources;
  last.body = body;
  return body;
}

/** The same resource objects in the same order (a snapshot's resources are immutable). */
function sameResources(a: readonly EncodedResource[], b: readonly EncodedResource[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Versions are content hashes of the encoded bytes: equal names and versions, equal bytes. */
function key(typeUrl: TypeUrl, resources: readonly EncodedResource[]): string {
  let k = typeUrl;
  for (const r of resources) k += `\n${r.name}\u0000${r.version}`;
  return k;
}

function remember(cache: Map<string, Buffer>, k: string, encode: () => Buffer): Buffer {
  let body = cache.get(k);
  if (!body) {
    body = encode();
    cache.set(k, body);
    if (cache.size > MAX_BODIES) cache.delete(cache.keys().next().value as string);
  }
  return body;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n >>>= 7;
    size++;
  }
  return size;
}

/**
 * The head's string fields then the body, in one buffer. Every field is written, empty strings
 * too (as protobufjs does; a repeated field's empty entry must not vanish). Field numbers below 16
 * keep every tag one byte (wire type 2: length-delimited).
 */
export function encodePreEncoded({ head, body }: PreEncoded): Buffer {
  let size = body.length;
  const lengths: number[] = [];
  for (let i = 0; i < head.length; i += 2) {
    const field = head[i] as number;
    const value = head[i + 1] as string;
    if (field < 1 || field > 15) throw new Error(`field ${field} needs a multi-byte tag`);
    const n = Buffer.byteLength(value, 'utf8');
    lengths.push(n);
    size += 1 + varintSize(n) + n;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < head.length; i += 2) {
    const n = lengths[i / 2] ?? 0;
    out[at++] = ((head[i] as number) << 3) | 2;
    for (let v = n; ;) {
      if (v < 0x80) {
        out[at++] = v;
        break;
      }
      out[at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    at += out.write(head[i + 1] as string, at, 'utf8');
  }
  body.copy(out, at);
  return out;
}

/**
 * The ADS service definition with response serializers that write a pre-encoded response
 * directly. Responses without one are serialized as before.
 */
export function withPreEncodedResponses<S extends grpc.ServiceDefinition>(service: S): S {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [method, def] of Object.entries(service as grpc.ServiceDefinition)) {
    const serialize = def.responseSerialize;
    out[method] = {
      ...def,
      responseSerialize: (msg: unknown) => {
        const pre = (msg as WithPreEncoded<object>)[PRE_ENCODED];
        return pre ? encodePreEncoded(pre) : serialize(msg);
      },
    };
  }
  return out as unknown as S;
}

/** About how many bytes a response takes on the wire (for send-buffer accounting); 0 when unknown. */
export function approximateSize(msg: unknown): number {
  const pre = (msg as WithPreEncoded<object>)[PRE_ENCODED];
  if (!pre) return 0;
  let size = pre.body.length;
  for (let i = 1; i < pre.head.length; i += 2) size += 2 + (pre.head[i] as string).length;
  return size;
}
