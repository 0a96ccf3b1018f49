import type { RouteConfiguration } from '../generated/envoy/config/route/v3/RouteConfiguration.js';
import type { RetryPolicy } from '../generated/envoy/config/route/v3/RetryPolicy.js';
import type { ServiceConfig } from '../config/config-types.js';
import { durationFromMs as duration } from '../core/duration.js';
import { routeNameFor } from './listeners.js';

/**
 * Every path to the service's cluster. auto_host_rewrite puts the chosen endpoint's hostname in
 * Host (Modal routes by Host); in-house endpoints have none and keep the client's Host. No
 * internal-redirect handling: Modal's 303 for long requests passes through to the client untouched.
 */
export function buildRouteConfiguration(service: ServiceConfig): RouteConfiguration {
  const { route } = service;
  const retry: RetryPolicy | undefined =
    route.retry.retryOn.length > 0 && route.retry.numRetries > 0
      ? {
          retry_on: route.retry.retryOn.join(','),
          num_retries: { value: route.retry.numRetries },
          ...(route.retry.perTryTimeoutMs > 0 ? { per_try_timeout: duration(route.retry.perTryTimeoutMs) } : {}),
        }
      : undefined;
  return {
    name: routeNameFor(service),
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
