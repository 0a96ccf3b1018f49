// How the Modal endpoint gets TLS (and HTTP/2 by ALPN) while in-house endpoints stay plaintext HTTP/1.1
// in the same cluster. Envoy accepts ALPN (auto_config) only when the cluster's default transport
// socket supports it, so TLS to Modal is the default and in-house endpoints carry the metadata of a
// plaintext transport_socket_matches entry. A plaintext match under ALPN is still refused unless the
// Envoy's runtime sets config.do_not_validate_alpn_support (envoy/envoy.yaml does); then Envoy speaks
// HTTP/1.1 on the plaintext connections (no ALPN) and whatever Modal's ALPN picks on the TLS ones.
import type { Cluster } from '../generated/envoy/config/cluster/v3/Cluster.js';
import type { Struct } from '../generated/google/protobuf/Struct.js';
import type { ModalEndpointConfig } from '../config/config-types.js';
import type { SpillwayProtos } from '../protos/load-protos.js';
import { packAny } from '../protos/any.js';

/** Endpoint metadata filter Envoy matches transport_socket_matches against. */
export const TLS_MATCH_KEY = 'envoy.transport_socket_match';

/** Carried by the Modal endpoint (which gets the cluster's default TLS socket; the tag is for people). */
export const MODAL_TLS_MATCH: Struct = { fields: { tls: { stringValue: 'modal' } } };

/** Carried by in-house endpoints of a service with Modal: selects the plaintext transport socket. */
export const PLAINTEXT_MATCH: Struct = { fields: { tls: { stringValue: 'none' } } };

/**
 * The cluster fields that give Modal TLS with SNI (offering h2 by ALPN when http2) and in-house
 * plaintext. Which HTTP Envoy then speaks is upstream-http.ts's (one HttpProtocolOptions per cluster).
 */
export function modalTransport(m: ModalEndpointConfig, protos: SpillwayProtos): Partial<Cluster> {
  return {
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: packAny(protos, 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', {
        sni: m.hostname,
        common_tls_context: {
          alpn_protocols: m.http2 ? ['h2', 'http/1.1'] : ['http/1.1'],
          validation_context: {
            trusted_ca: { filename: m.caBundle },
            match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: m.hostname } }],
          },
        },
      }),
    },
    transport_socket_matches: [
      {
        name: 'in-house-plaintext',
        match: PLAINTEXT_MATCH,
        transport_socket: {
          name: 'envoy.transport_sockets.raw_buffer',
          typed_config: packAny(protos, 'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer', {}),
        },
      },
    ],
  };
}
