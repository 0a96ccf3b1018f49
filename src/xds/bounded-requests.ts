// Requests that cannot be served are answered with a status that names the problem. grpc-js answers
// an undecodable message with INTERNAL "Error deserializing request" (as if the server had failed)
// and an oversize one with its own wording, and neither reaches a handler. Here the service's
// request decoder returns a marker instead of throwing, so the handler refuses the stream with
// INVALID_ARGUMENT or RESOURCE_EXHAUSTED naming the message type or the configured limit.
// grpc-js's own size check stays as a backstop (at twice the limit) so a huge message is never buffered.
import * as grpc from '@grpc/grpc-js';
import { errorMessage } from '../core/errors.js';

/** Why a client's input is refused: the status code, the rule or limit it broke (a config path), and what to tell the client. */
export interface Refusal {
  code: grpc.status;
  rule: string;
  details: string;
}

const REFUSED = Symbol('refusedRequest');

interface RefusedRequest {
  [REFUSED]: Refusal;
}

/** The rule a request that does not decode breaks (for metrics). */
export const UNDECODABLE_RULE = 'protobuf';

/** The grpc.max_receive_message_length to set beside a named limit: grpc-js's own backstop. */
export const backstopBytes = (limit: number): number => Math.min(2 * limit, 2 ** 31 - 1);

/** The service with every request decoder bounded by maxBytes (named by limitPath) and never throwing. */
export function withBoundedRequests<S extends grpc.ServiceDefinition>(service: S, maxBytes: number, limitPath: string): S {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [method, def] of Object.entries(service as grpc.ServiceDefinition)) {
    const decode = def.requestDeserialize;
    // proto-loader's definitions carry the message type; plain grpc ones do not.
    const typeName = (def as { requestType?: { type?: { name?: string } } }).requestType?.type?.name ?? 'request';
    out[method] = {
      ...def,
      requestDeserialize: (bytes: Buffer): unknown => {
        if (bytes.length > maxBytes) {
          return refused({
            code: grpc.status.RESOURCE_EXHAUSTED,
            rule: limitPath,
            details: `message of ${bytes.length} bytes exceeds ${limitPath} = ${maxBytes}`,
          });
        }
        try {
          return decode(bytes);
        } catch (err) {
          return refused({
            code: grpc.status.INVALID_ARGUMENT,
            rule: UNDECODABLE_RULE,
            details: `not a valid ${typeName}: ${errorMessage(err).slice(0, 200)}`,
          });
        }
      },
    };
  }
  return out as unknown as S;
}

function refused(r: Refusal): RefusedRequest {
  return { [REFUSED]: r };
}

/** The refusal a decoded request stands for, if it is one. */
export function refusalOf(msg: unknown): Refusal | undefined {
  return typeof msg === 'object' && msg !== null ? (msg as Partial<RefusedRequest>)[REFUSED] : undefined;
}

/** A unary handler that answers a refused request with its status instead of running. */
export function refusingUnary<Req, Res>(handler: grpc.handleUnaryCall<Req, Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const r = refusalOf(call.request);
    if (r) callback({ code: r.code, details: r.details, metadata: new grpc.Metadata(), name: 'Refused', message: r.details });
    else handler(call, callback);
  };
}
