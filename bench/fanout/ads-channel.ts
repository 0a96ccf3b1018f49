import * as grpc from '@grpc/grpc-js';
import type { AggregatedDiscoveryServiceClient } from '../../src/generated/envoy/service/discovery/v3/AggregatedDiscoveryService.js';
import { loadProtos } from '../../src/protos/load-protos.js';

/** Symbol under which each decoded response carries its serialized size (bytes of the gRPC message). */
export const WIRE_BYTES = Symbol('wireBytes');

/** Reads the serialized size a response was decoded from (0 if unknown). */
export function wireBytesOf(msg: object): number {
  return (msg as { [WIRE_BYTES]?: number })[WIRE_BYTES] ?? 0;
}

type AdsClientCtor = new (address: string, creds: grpc.ChannelCredentials, options?: grpc.ClientOptions) => AggregatedDiscoveryServiceClient;

let ctor: AdsClientCtor | undefined;

/**
 * The generated ADS client, except that response deserializers note the message size on the
 * decoded object: bytes received are counted per stream without a second decode.
 */
function countingClientCtor(): AdsClientCtor {
  if (ctor) return ctor;
  const service = loadProtos().protos.envoy.service.discovery.v3.AggregatedDiscoveryService.service;
  const counted: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [method, def] of Object.entries(service as grpc.ServiceDefinition)) {
    const inner = def.responseDeserialize;
    counted[method] = {
      ...def,
      responseDeserialize: (buf: Buffer) => {
        const msg = inner(buf) as object;
        Object.defineProperty(msg, WIRE_BYTES, { value: buf.length, enumerable: false });
        return msg;
      },
    };
  }
  ctor = grpc.makeGenericClientConstructor(counted, 'AggregatedDiscoveryService') as unknown as AdsClientCtor;
  return ctor;
}

/**
 * One HTTP/2 connection. grpc-js shares subchannels between clients with equal options by default,
 * so every client would ride one connection; a local subchannel pool gives each its own.
 */
export function openAdsChannel(target: string): AggregatedDiscoveryServiceClient {
  const Ctor = countingClientCtor();
  return new Ctor(target, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
}
