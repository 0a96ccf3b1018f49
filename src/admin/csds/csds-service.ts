// envoy.service.status.v3.ClientStatusDiscoveryService on the admin port: FetchClientStatus answers
// once, StreamClientStatus answers each request on the stream. Reads go through the same auth check
// as every other read; matchers that cannot be compiled are INVALID_ARGUMENT naming the field, and a
// request over admin.limits.max_message_bytes is RESOURCE_EXHAUSTED naming the limit, as on Admin.
import * as grpc from '@grpc/grpc-js';
import type { NodeSyncView } from '../../control/read-model.js';
import { errorMessage } from '../../core/errors.js';
import { refusalOf } from '../../xds/bounded-requests.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import type { ClientStatusDiscoveryServiceHandlers } from '../../generated/envoy/service/status/v3/ClientStatusDiscoveryService.js';
import type { ClientStatusRequest__Output } from '../../generated/envoy/service/status/v3/ClientStatusRequest.js';
import type { ClientStatusResponse } from '../../generated/envoy/service/status/v3/ClientStatusResponse.js';
import { grpcAuthorization, type AdminAuth } from '../auth.js';
import { clientConfigOf } from './client-status.js';
import { compileNodeMatchers, MatcherError } from './node-matcher.js';

export interface CsdsDeps {
  auth: AdminAuth;
  /** Every connected Envoy with its sync state, from the read model. */
  syncNodes(): NodeSyncView[];
  logger?: Logger;
}

const fail = (code: grpc.status, details: string): grpc.ServiceError =>
  Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });

/** The response to one request; throws a ServiceError for a bad request. */
export function answerClientStatus(req: ClientStatusRequest__Output, nodes: readonly NodeSyncView[]): ClientStatusResponse {
  let matches;
  try {
    matches = compileNodeMatchers(req.node_matchers);
  } catch (err) {
    if (err instanceof MatcherError) throw fail(grpc.status.INVALID_ARGUMENT, err.message);
    throw err;
  }
  const options = { excludeContents: req.exclude_resource_contents };
  return { config: nodes.filter((n) => matches(n.node)).map((n) => clientConfigOf(n, options)) };
}

export function createCsdsHandlers(deps: CsdsDeps): ClientStatusDiscoveryServiceHandlers {
  const log = (deps.logger ?? silentLogger).child({ component: 'csds' });
  const refused = (method: string, md: grpc.Metadata, peer: string): grpc.ServiceError | undefined => {
    const auth = deps.auth.checkRead(grpcAuthorization(md));
    if (auth.ok) return undefined;
    log.warn({ method, peer, problem: auth.problem }, 'CSDS read refused: bad or missing bearer token');
    return fail(grpc.status.UNAUTHENTICATED, `${method}: a valid "authorization: Bearer <token>" is required`);
  };
  type Answer = { res: ClientStatusResponse; err?: undefined } | { res?: undefined; err: grpc.ServiceError };
  const answer = (req: ClientStatusRequest__Output): Answer => {
    // Over admin.limits.max_message_bytes or undecodable (start-admin.ts bounds the decoder).
    const refusal = refusalOf(req);
    if (refusal) return { err: fail(refusal.code, refusal.details) };
    try {
      return { res: answerClientStatus(req, deps.syncNodes()) };
    } catch (err) {
      if (err instanceof Error && 'code' in err) return { err: err as grpc.ServiceError };
      log.error({ err: errorMessage(err) }, 'CSDS request failed');
      return { err: fail(grpc.status.INTERNAL, errorMessage(err)) };
    }
  };
  return {
    FetchClientStatus(call, callback) {
      const denied = refused('FetchClientStatus', call.metadata, call.getPeer());
      if (denied) return callback(denied);
      const a = answer(call.request);
      if (a.err) callback(a.err);
      else callback(null, a.res);
    },
    StreamClientStatus(call) {
      const denied = refused('StreamClientStatus', call.metadata, call.getPeer());
      if (denied) {
        call.emit('error', denied);
        return;
      }
      call.on('data', (req: ClientStatusRequest__Output) => {
        const a = answer(req);
        if (a.err) call.emit('error', a.err);
        else call.write(a.res);
      });
      call.on('end', () => call.end());
    },
  };
}
