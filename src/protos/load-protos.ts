// Loads Envoy's (and Spillway's own) protos once per process and returns them typed with the
// types generated at build time. Loading the Envoy tree takes a second or so: share the result.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as Ads } from '../generated/ads.js';
import type { ProtoGrpcType as Cluster } from '../generated/cluster.js';
import type { ProtoGrpcType as Endpoint } from '../generated/endpoint.js';
import type { ProtoGrpcType as Hcm } from '../generated/http_connection_manager.js';
import type { ProtoGrpcType as HttpProtocolOptions } from '../generated/http_protocol_options.js';
import type { ProtoGrpcType as Listener } from '../generated/listener.js';
import type { ProtoGrpcType as Lrs } from '../generated/lrs.js';
import type { ProtoGrpcType as Route } from '../generated/route.js';
import type { ProtoGrpcType as Router } from '../generated/router.js';
import type { ProtoGrpcType as Tls } from '../generated/tls.js';
import type { ProtoGrpcType as StatefulSession } from '../generated/stateful_session.js';
import type { ProtoGrpcType as HeaderSession } from '../generated/header.js';
import type { ProtoGrpcType as CookieSession } from '../generated/cookie.js';
import type { ProtoGrpcType as HeaderMutation } from '../generated/header_mutation.js';
import type { ProtoGrpcType as UpstreamCodec } from '../generated/upstream_codec.js';
import type { ProtoGrpcType as PreviousHosts } from '../generated/previous_hosts.js';
import { ENVOY_PROTO_FILES, OWN_PROTO_FILES } from './proto-files.js';
import { envoyIncludeDirs, ownProtoDir } from './proto-paths.js';

export type SpillwayProtos = Ads &
  Cluster &
  Endpoint &
  Hcm &
  HttpProtocolOptions &
  Listener &
  Lrs &
  Route &
  Router &
  Tls &
  StatefulSession &
  HeaderSession &
  CookieSession &
  HeaderMutation &
  UpstreamCodec &
  PreviousHosts;

/** The loader options every decode in Spillway shares: they match the options the types were generated with. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

let cached: { definition: protoLoader.PackageDefinition; protos: SpillwayProtos } | undefined;

export function loadProtos(): { definition: protoLoader.PackageDefinition; protos: SpillwayProtos } {
  if (!cached) {
    const definition = protoLoader.loadSync([...ENVOY_PROTO_FILES, ...OWN_PROTO_FILES], {
      ...LOADER_OPTIONS,
      includeDirs: [...envoyIncludeDirs(), ownProtoDir()],
    });
    const protos = grpc.loadPackageDefinition(definition) as unknown as SpillwayProtos;
    cached = { definition, protos };
  }
  return cached;
}
