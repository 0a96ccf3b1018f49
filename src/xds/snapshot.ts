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

function encodeType<K extends TypeUrl>(type: K, items: readonly ResourceTypeMap[K][], protos: SpillwayProtos): TypeSnapshot {
  const def = encoderFor(type, protos);
  const resources = new Map<string, EncodedResource>();
  for (const item of items) {
    const value = def.serialize(item);
    const name = resourceName(type, item);
    resources.set(name, Object.freeze({ name, version: hash(value), typeUrl: type, value }));
  }
  const sorted = [...resources.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const version = hash(sorted.map((r) => `${r.name}\u0000${r.version}`).join('\n'));
  return Object.freeze({ version, resources: new Map(sorted.map((r) => [r.name, r])) });
}

/** Encodes a desired state. Deterministic: protobuf field order is fixed and inputs are sorted. */
export function makeSnapshot(desired: DesiredResources, protos: SpillwayProtos): Snapshot {
  const types = {} as Record<TypeUrl, TypeSnapshot>;
  for (const t of ADS_ORDER) types[t] = encodeType(t, desired[t], protos);
  return Object.freeze({ types: Object.freeze(types) });
}
