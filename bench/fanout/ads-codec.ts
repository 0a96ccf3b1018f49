// The load tool's protobuf codec: protobufjs types for the ADS messages, straight from Envoy's
// protos (the tree @grpc/grpc-js-xds ships). Responses are decoded without the toObject pass and
// read through narrow views of just the fields an Envoy acts on.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import type { DeltaDiscoveryRequest } from '../../src/generated/envoy/service/discovery/v3/DeltaDiscoveryRequest.js';
import type { DiscoveryRequest } from '../../src/generated/envoy/service/discovery/v3/DiscoveryRequest.js';
import { envoyIncludeDirs } from '../../src/protos/proto-paths.js';

/** A packed resource as decoded: its type URL and serialized bytes. */
export interface AnyView {
  type_url: string;
  value: Uint8Array;
}

export interface SotwResponseView {
  type_url: string;
  version_info: string;
  nonce: string;
  resources: AnyView[];
}

export interface DeltaResponseView {
  type_url: string;
  system_version_info: string;
  nonce: string;
  resources: Array<{ name: string; version: string; resource: AnyView | null }>;
  removed_resources: string[];
}

export interface AdsCodec {
  encodeSotwRequest(req: DiscoveryRequest): Uint8Array;
  decodeSotwResponse(bytes: Uint8Array): SotwResponseView;
  encodeDeltaRequest(req: DeltaDiscoveryRequest): Uint8Array;
  decodeDeltaResponse(bytes: Uint8Array): DeltaResponseView;
}

let codec: AdsCodec | undefined;

/**
 * Loads discovery.proto once. Decoded messages keep proto3 defaults on their prototypes (empty
 * strings, empty lists, null messages), which is exactly what the views promise.
 */
export function adsCodec(): AdsCodec {
  if (codec) return codec;
  const dirs = envoyIncludeDirs();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => dirs.map((d) => join(d, target)).find((p) => existsSync(p)) ?? target;
  root.loadSync('envoy/service/discovery/v3/discovery.proto', { keepCase: true });
  const type = (name: string): protobuf.Type => root.lookupType(`envoy.service.discovery.v3.${name}`);
  const [sotwReq, sotwResp, deltaReq, deltaResp] = [
    'DiscoveryRequest',
    'DiscoveryResponse',
    'DeltaDiscoveryRequest',
    'DeltaDiscoveryResponse',
  ].map(type) as [protobuf.Type, protobuf.Type, protobuf.Type, protobuf.Type];
  codec = {
    encodeSotwRequest: (req) => sotwReq.encode(req).finish(),
    decodeSotwResponse: (bytes) => sotwResp.decode(bytes) as unknown as SotwResponseView,
    encodeDeltaRequest: (req) => deltaReq.encode(req).finish(),
    decodeDeltaResponse: (bytes) => deltaResp.decode(bytes) as unknown as DeltaResponseView,
  };
  return codec;
}
