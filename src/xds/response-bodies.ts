// A DiscoveryResponse's resources are the same bytes for every stream that gets the same list;
// only the envelope (version, nonce, type URL) differs. The resources field is encoded once per
// distinct list and appended to each stream's small envelope by the service's serializer.
// Protobuf allows fields in any order and concatenated encodings of one message merge, so
// envelope ++ resources is a valid encoding of the whole message.
import type * as grpc from '@grpc/grpc-js';
import type { DeltaDiscoveryResponse } from '../generated/envoy/service/discovery/v3/DeltaDiscoveryResponse.js';
import type { DiscoveryResponse } from '../generated/envoy/service/discovery/v3/DiscoveryResponse.js';
import { loadProtos } from '../protos/load-protos.js';
import type { EncodedResource } from './snapshot.js';
import type { TypeUrl } from './type-urls.js';

const BODY = Symbol('encodedResources');

type WithBody<T> = T & { [BODY]?: Buffer };

/** Distinct resource lists remembered per protocol; a push needs one or two, a rollout a few. */
const MAX_BODIES = 64;

/** Encoded `resources` fields, keyed by type, names and content versions. */
export class ResponseBodies {
  private readonly sotw = new Map<string, Buffer>();
  private readonly delta = new Map<string, Buffer>();

  /** The response with its pre-encoded resources attached (the `resources` array stays for other writers). */
  sotwResponse(typeUrl: TypeUrl, resources: readonly EncodedResource[], response: DiscoveryResponse): DiscoveryResponse {
    const body = remember(this.sotw, key(typeUrl, resources), () =>
      loadProtos().protos.envoy.service.discovery.v3.DiscoveryResponse.serialize({
        resources: resources.map((r) => ({ type_url: typeUrl, value: r.value })),
      }),
    );
    return Object.assign(response, { [BODY]: body });
  }

  deltaResponse(typeUrl: TypeUrl, resources: readonly EncodedResource[], response: DeltaDiscoveryResponse): DeltaDiscoveryResponse {
    const body = remember(this.delta, key(typeUrl, resources), () =>
      loadProtos().protos.envoy.service.discovery.v3.DeltaDiscoveryResponse.serialize({
        resources: resources.map((r) => ({ name: r.name, version: r.version, resource: { type_url: typeUrl, value: r.value } })),
      }),
    );
    return Object.assign(response, { [BODY]: body });
  }
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

/**
 * The ADS service definition with response serializers that encode only the envelope of a
 * response carrying pre-encoded resources. Responses without one are serialized as before.
 */
export function withPreEncodedResponses<S extends grpc.ServiceDefinition>(service: S): S {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [method, def] of Object.entries(service as grpc.ServiceDefinition)) {
    const serialize = def.responseSerialize;
    out[method] = {
      ...def,
      responseSerialize: (msg: unknown) => {
        const body = (msg as WithBody<object>)[BODY];
        if (!body) return serialize(msg);
        return Buffer.concat([serialize({ ...(msg as object), resources: [] }), body]);
      },
    };
  }
  return out as unknown as S;
}
