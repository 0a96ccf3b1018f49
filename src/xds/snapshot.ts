import { createHash } from 'node:crypto';
import type { MessageTypeDefinition } from '@grpc/proto-loader';
import type { SpillwayProtos } from '../protos/load-protos.js';
import { resourceName, type DesiredResources, type ResourceTypeMap } from './resource-types.js';
import { ADS_ORDER, TypeUrl } from './type-urls.js';

/** A resource encoded once per version; every stream shares these bytes. */
export interface EncodedResource {
  readonly name: string;
  /** Content hash of the encoded bytes: equal content, equal version, on any replica. */
  readonly version: string;
  readonly typeUrl: TypeUrl;
  readonly value: Buffer;
}

export interface TypeSnapshot {
  /** Content hash over every resource's name and version. */
  readonly version: string;
  readonly resources: ReadonlyMap<string, EncodedResource>;
}

/** An immutable view of everything Spillway serves. */
export interface Snapshot {
  readonly types: { readonly [K in TypeUrl]: TypeSnapshot };
}

const hash = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex').slice(0, 16);

function encoderFor<K extends TypeUrl>(type: K, protos: SpillwayProtos): MessageTypeDefinition<ResourceTypeMap[K], unknown> {
  const defs = {
    [TypeUrl.Cluster]: protos.envoy.config.cluster.v3.Cluster,
    [TypeUrl.Endpoint]: protos.envoy.config.endpoint.v3.ClusterLoadAssignment,
    [TypeUrl.Listener]: protos.envoy.config.listener.v3.Listener,
    [TypeUrl.Route]: protos.envoy.config.route.v3.RouteConfiguration,
  } as const;
  return defs[type] as MessageTypeDefinition<ResourceTypeMap[K], unknown>;
}

/** A resource as last encoded, with the object it was encoded from and that object's JSON. */
interface Encoded {
  item: object;
  json: string;
  resource: EncodedResource;
}

/** What one type's encoding remembers from the previous call. */
interface TypeMemo {
  previous: TypeSnapshot | undefined;
  encoded: Map<string, Encoded>;
}

function encodeType<K extends TypeUrl>(
  type: K,
  items: readonly ResourceTypeMap[K][],
  protos: SpillwayProtos,
  memo: TypeMemo,
): TypeSnapshot {
  const def = encoderFor(type, protos);
  const resources = new Map<string, EncodedResource>();
  const encoded = new Map<string, Encoded>();
  for (const item of items) {
    const name = resourceName(type, item);
    const before = memo.encoded.get(name);
    // The same object (built resources are never changed in place), or equal JSON: equal message.
    // Protobuf encoding is a function of the object's content, and JSON.stringify is several times
    // cheaper than protobufjs's fromObject + encode.
    if (before && before.item === item) {
      resources.set(name, before.resource);
      encoded.set(name, before);
      continue;
    }
    const json = JSON.stringify(item);
    if (before && before.json === json) {
      resources.set(name, before.resource);
      encoded.set(name, { item, json, resource: before.resource });
      continue;
    }
    const value = def.serialize(item);
    const resource = Object.freeze({ name, version: hash(value), typeUrl: type, value });
    resources.set(name, resource);
    encoded.set(name, { item, json, resource });
  }
  memo.encoded = encoded;
  const prev = memo.previous;
  // Nothing changed: the same TypeSnapshot (its version and resources are those of the content).
  if (prev && prev.resources.size === resources.size && [...resources].every(([n, r]) => prev.resources.get(n) === r)) return prev;
  const sorted = [...resources.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const version = hash(sorted.map((r) => `${r.name}\u0000${r.version}`).join('\n'));
  return Object.freeze({ version, resources: new Map(sorted.map((r) => [r.name, r])) });
}

/** Encodes a desired state from scratch. Deterministic: protobuf field order is fixed and inputs are sorted. */
export function makeSnapshot(desired: DesiredResources, protos: SpillwayProtos): Snapshot {
  return new SnapshotEncoder(protos).encode(desired);
}

/**
 * Encodes one desired state after another, re-encoding only resources whose content changed since
 * the previous call. A weight change touches one ClusterLoadAssignment; the other 4N − 1 resources
 * keep their bytes (and a type with no change keeps its TypeSnapshot).
 */
export class SnapshotEncoder {
  private readonly memo = new Map<TypeUrl, TypeMemo>();

  constructor(private readonly protos: SpillwayProtos) {}

  encode(desired: DesiredResources): Snapshot {
    const types = {} as Record<TypeUrl, TypeSnapshot>;
    for (const t of ADS_ORDER) {
      let memo = this.memo.get(t);
      if (!memo) this.memo.set(t, (memo = { previous: undefined, encoded: new Map() }));
      types[t] = encodeType(t, desired[t], this.protos, memo);
      memo.previous = types[t];
    }
    return Object.freeze({ types: Object.freeze(types) });
  }
}
