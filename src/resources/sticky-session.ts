// Sticky sessions across tiers with Envoy's stateful session filter: Envoy names the host that served
// a session's first request (an in-house host or the Modal endpoint) in a header or cookie, and the
// client sends it back. New sessions still follow the live locality weights, unlike a hash policy.
import type { HttpFilter } from '../generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter.js';
import type { HealthStatus } from '../generated/envoy/config/core/v3/HealthStatus.js';
import { StickyMode, type StickyConfig } from '../config/config-types.js';
import type { SpillwayProtos } from '../protos/load-protos.js';
import { packAny } from '../protos/any.js';

/**
 * Host health a pinned session may still use. Without DEGRADED (Envoy's default includes it), a
 * soft-cordoned Modal endpoint or in-house host loses its sessions at once instead of keeping them
 * for its whole drain; DRAINING, UNHEALTHY and removed hosts lose them in any case.
 */
export const STICKY_HOST_STATUSES: HealthStatus[] = ['UNKNOWN', 'HEALTHY'];

/** The stateful session HTTP filter for the service's listener; undefined when stickiness is off. */
export function statefulSessionFilter(sticky: StickyConfig, protos: SpillwayProtos): HttpFilter | undefined {
  if (sticky.mode === StickyMode.Off) return undefined;
  const state =
    sticky.mode === StickyMode.Header
      ? {
          name: 'envoy.http.stateful_session.header',
          typed_config: packAny(protos, 'envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState', {
            name: sticky.header,
          }),
        }
      : {
          name: 'envoy.http.stateful_session.cookie',
          typed_config: packAny(protos, 'envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState', {
            cookie: { name: sticky.cookie.name, path: sticky.cookie.path, ttl: { seconds: sticky.cookie.ttlS, nanos: 0 } },
          }),
        };
  return {
    name: 'envoy.filters.http.stateful_session',
    // strict: false — a pin to a host that is gone (or cordoned) falls back to the load balancer.
    typed_config: packAny(protos, 'envoy.extensions.filters.http.stateful_session.v3.StatefulSession', {
      session_state: state,
      strict: false,
    }),
  };
}
