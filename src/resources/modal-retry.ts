// A 429 from Modal (its workspace rate limit) is retried once on an in-house host. Only Modal's 429s:
// an upstream filter stamps every attempt's response with "<status>@<upstream hostname>", and the
// route retries only on "429@<Modal hostname>". The stamp never reaches the client.
import type { RetryPolicy } from '../generated/envoy/config/route/v3/RetryPolicy.js';
import type { Any } from '../generated/google/protobuf/Any.js';
import type { ServiceConfig } from '../config/config-types.js';
import { durationFromMs as duration } from '../core/duration.js';
import type { SpillwayProtos } from '../protos/load-protos.js';
import { packAny } from '../protos/any.js';

/** Response header naming the status and host of each upstream attempt (removed before the client). */
export const ATTEMPT_HEADER = 'x-spillway-attempt';

/** Host selection retries that skip the previous host: at a 50 % Modal share, 2^-10 of retries land on Modal again. */
const HOST_SELECTION_ATTEMPTS = 10;

const retries429 = (service: ServiceConfig): boolean => service.modal?.retry429InHouse === true;

/** The cluster's HttpProtocolOptions carrying the attempt-stamping upstream filter, when the 429 retry is on. */
export function attemptMarkerProtocolOptions(service: ServiceConfig, protos: SpillwayProtos): Record<string, Any> | undefined {
  if (!retries429(service)) return undefined;
  const options = packAny(protos, 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions', {
    explicit_http_config: { http_protocol_options: {} },
    http_filters: [
      {
        name: 'envoy.filters.http.header_mutation',
        typed_config: packAny(protos, 'envoy.extensions.filters.http.header_mutation.v3.HeaderMutation', {
          mutations: {
            response_mutations: [
              {
                append: {
                  header: { key: ATTEMPT_HEADER, value: '%RESP(:STATUS)%@%UPSTREAM_HOST_NAME%' },
                  append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
                },
              },
            ],
          },
        }),
      },
      {
        name: 'envoy.filters.http.upstream_codec',
        typed_config: packAny(protos, 'envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec', {}),
      },
    ],
  });
  return { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': options };
}

/**
 * The route's retry policy: the configured conditions, plus Modal's 429 when enabled. Retries go to
 * another host (previous_hosts), so a Modal 429 is retried in-house. Envoy only retries requests
 * whose body fit its retry buffer (about 1 MiB): a larger upload that meets a 429 gets the 429.
 */
export function retryPolicyFor(service: ServiceConfig, protos: SpillwayProtos): RetryPolicy | undefined {
  const r = service.route.retry;
  const configured = r.retryOn.length > 0 && r.numRetries > 0;
  const modal = service.modal;
  if (!configured && !(modal && retries429(service))) return undefined;
  const retryOn = configured ? [...r.retryOn] : [];
  const policy: RetryPolicy = {
    num_retries: { value: Math.max(configured ? r.numRetries : 0, 1) },
    retry_host_predicate: [
      {
        name: 'envoy.retry_host_predicates.previous_hosts',
        typed_config: packAny(protos, 'envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate', {}),
      },
    ],
    host_selection_retry_max_attempts: HOST_SELECTION_ATTEMPTS,
    ...(r.perTryTimeoutMs > 0 ? { per_try_timeout: duration(r.perTryTimeoutMs) } : {}),
  };
  if (modal && retries429(service)) {
    if (!retryOn.includes('retriable-headers')) retryOn.push('retriable-headers');
    policy.retriable_headers = [{ name: ATTEMPT_HEADER, string_match: { exact: `429@${modal.hostname}` } }];
  }
  policy.retry_on = retryOn.join(',');
  return policy;
}
