// Loads the admin port's protos (Spillway's admin API and gRPC's health service) into one package
// definition, typed with the generated types. Reflection describes exactly this definition, so it
// lists what the admin port serves and nothing of Envoy's tree.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as AdminProto } from '../generated/admin.js';
import type { ProtoGrpcType as HealthProto } from '../generated/health.js';
import { LOADER_OPTIONS } from '../protos/load-protos.js';
import { ADMIN_PROTO_FILES, HEALTH_PROTO_FILES } from '../protos/proto-files.js';
import { healthProtoDir, ownProtoDir } from '../protos/proto-paths.js';

export type AdminProtos = AdminProto & HealthProto;

let cached: { definition: protoLoader.PackageDefinition; protos: AdminProtos } | undefined;

export function loadAdminProtos(): { definition: protoLoader.PackageDefinition; protos: AdminProtos } {
  if (!cached) {
    const definition = protoLoader.loadSync([...ADMIN_PROTO_FILES, ...HEALTH_PROTO_FILES], {
      ...LOADER_OPTIONS,
      includeDirs: [ownProtoDir(), healthProtoDir()],
    });
    cached = { definition, protos: grpc.loadPackageDefinition(definition) as unknown as AdminProtos };
  }
  return cached;
}

/** Fully-qualified names of the services the admin port serves (reflection lists these). */
export const ADMIN_SERVICE_NAME = 'spillway.admin.v1.Admin';
export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';
