// Loads the admin port's protos (Spillway's admin API, gRPC's health service and Envoy's CSDS) into
// one package definition, typed with the generated types. Reflection describes exactly this
// definition, so it lists what the admin port serves: the CSDS file brings the Envoy messages it
// uses, and no other Envoy service.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as AdminProto } from '../generated/admin.js';
import type { ProtoGrpcType as CsdsProto } from '../generated/csds.js';
import type { ProtoGrpcType as HealthProto } from '../generated/health.js';
import { LOADER_OPTIONS } from '../protos/load-protos.js';
import { ADMIN_PROTO_FILES, CSDS_PROTO_FILES, HEALTH_PROTO_FILES } from '../protos/proto-files.js';
import { envoyIncludeDirs, healthProtoDir, ownProtoDir } from '../protos/proto-paths.js';

export type AdminProtos = AdminProto & HealthProto & CsdsProto;

let cached: { definition: protoLoader.PackageDefinition; protos: AdminProtos } | undefined;

export function loadAdminProtos(): { definition: protoLoader.PackageDefinition; protos: AdminProtos } {
  if (!cached) {
    const definition = protoLoader.loadSync([...ADMIN_PROTO_FILES, ...HEALTH_PROTO_FILES, ...CSDS_PROTO_FILES], {
      ...LOADER_OPTIONS,
      includeDirs: [ownProtoDir(), healthProtoDir(), ...envoyIncludeDirs()],
    });
    cached = { definition, protos: grpc.loadPackageDefinition(definition) as unknown as AdminProtos };
  }
  return cached;
}

/** Fully-qualified names of the services the admin port serves (reflection lists these). */
export const ADMIN_SERVICE_NAME = 'spillway.admin.v1.Admin';
export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';
export const CSDS_SERVICE_NAME = 'envoy.service.status.v3.ClientStatusDiscoveryService';
