import type { Locality } from '../generated/envoy/config/core/v3/Locality.js';

// Each service's CLA has exactly these two localities; LRS reports are attributed by them.
export const IN_HOUSE_LOCALITY: Readonly<Locality> = Object.freeze({ region: 'spillway', zone: 'in-house' });
export const MODAL_LOCALITY: Readonly<Locality> = Object.freeze({ region: 'spillway', zone: 'modal' });

/** Endpoint metadata key Envoy matches transport_socket_matches against. */
export const TLS_MATCH_KEY = 'envoy.transport_socket_match';
