// Localities come from inputs/localities.ts (shared with the LRS reader); this module adds the
// transport-socket match key only the resource builders need.
export { IN_HOUSE_LOCALITY, MODAL_LOCALITY } from '../inputs/localities.js';

/** Endpoint metadata key Envoy matches transport_socket_matches against. */
export const TLS_MATCH_KEY = 'envoy.transport_socket_match';
