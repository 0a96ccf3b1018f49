import type { RouteConfiguration } from '../generated/envoy/config/route/v3/RouteConfiguration.js';
import type { ServiceConfig } from '../config/config-types.js';
import { durationFromMs as duration } from '../core/duration.js';
import type { SpillwayProtos } from '../protos/load-protos.js';
import { routeNameFor } from './listeners.js';
import { ATTEMPT_HEADER, retryPolicyFor } from './modal-retry.js';

/**
 * Every path to the service's cluster. auto_host_rewrite puts the chosen endpoint's hostname in
 * Host: Modal's for Modal (it routes by Host), in_house.host or the host's address for in-house
 * hosts; the client's Host is kept in X-Forwarded-Host. No internal-redirect handling: Modal's 303
 * for long requests passes through to the client untouched.
 */
export function buildRouteConfiguration(service: ServiceConfig, protos: SpillwayProtos): RouteConfiguration {
  const { route } = service;
  const retry = retryPolicyFor(service, protos);
  return {
    name: routeNameFor(service),
    // The per-attempt stamp the 429 retry reads is internal.
    response_headers_to_remove: [ATTEMPT_HEADER],
    virtual_hosts: [
      {
        name: service.name,
        domains: ['*'],
        routes: [
          {
            match: { prefix: '/' },
            route: {
              cluster: service.name,
              auto_host_rewrite: { value: true },
              append_x_forwarded_host: true,
              // 0 disables Envoy's 15 s default, which would cut requests Modal is still serving.
              timeout: duration(route.timeoutMs),
              idle_timeout: duration(route.idleTimeoutMs),
              ...(retry ? { retry_policy: retry } : {}),
            },
          },
        ],
      },
    ],
  };
}
