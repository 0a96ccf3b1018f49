// The cluster's one HttpProtocolOptions. Two features need it and Envoy allows one per cluster: HTTP/2
// to Modal by ALPN (auto_config; in-house connections are plaintext, so no ALPN, HTTP/1.1) and the
// upstream filters that stamp each attempt for the 429 retry (modal-retry.ts).
import type { Any } from '../generated/google/protobuf/Any.js';
import type { ServiceConfig } from '../config/config-types.js';
import type { SpillwayProtos } from '../protos/load-protos.js';
import { packAny } from '../protos/any.js';
import { attemptMarkerFilters } from './modal-retry.js';

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

export function upstreamHttpOptions(service: ServiceConfig, protos: SpillwayProtos): Record<string, Any> | undefined {
  const http2 = service.modal?.http2 === true;
  const filters = attemptMarkerFilters(service, protos);
  if (!http2 && !filters) return undefined;
  const options = packAny(protos, HTTP_PROTOCOL_OPTIONS, {
    ...(http2
      ? { auto_config: { http_protocol_options: {}, http2_protocol_options: {} } }
      : { explicit_http_config: { http_protocol_options: {} } }),
    ...(filters ? { http_filters: filters } : {}),
  });
  return { [HTTP_PROTOCOL_OPTIONS]: options };
}
