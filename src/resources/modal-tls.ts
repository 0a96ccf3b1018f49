// How the Modal endpoint gets TLS while in-house endpoints stay plaintext in the same cluster: the
// cluster's transport_socket_matches entry and the Modal endpoint's metadata name the same match.
import type { Struct } from '../generated/google/protobuf/Struct.js';

/** Endpoint metadata filter Envoy matches transport_socket_matches against. */
export const TLS_MATCH_KEY = 'envoy.transport_socket_match';

/** The match both sides carry: the cluster's entry selects exactly the endpoints tagged with it. */
export const MODAL_TLS_MATCH: Struct = { fields: { tls: { stringValue: 'modal' } } };
