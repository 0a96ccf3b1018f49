// spillway.admin.v1.Admin handlers. Reads go through the pure state view; mutations are authorised,
// validated (INVALID_ARGUMENT naming the field), logged without credentials, then applied through
// the operator actions (this process's write side, or — replicas — etcd, so every replica applies them).
import * as grpc from '@grpc/grpc-js';
import { ActionUnavailable, type OperatorActions } from '../control/operator-actions.js';
import type { Publisher } from '../control/publisher.js';
import { errorMessage } from '../core/errors.js';
import { LogOnce } from '../core/log-once.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { AdminHandlers } from '../generated/spillway/admin/v1/Admin.js';
import type { ClearOverrideRequest__Output } from '../generated/spillway/admin/v1/ClearOverrideRequest.js';
import type { CordonRequest__Output } from '../generated/spillway/admin/v1/CordonRequest.js';
import type { EndpointHealth } from '../generated/spillway/admin/v1/EndpointHealth.js';
import type { CordonResponse } from '../generated/spillway/admin/v1/CordonResponse.js';
import type { OverrideRequest__Output } from '../generated/spillway/admin/v1/OverrideRequest.js';
import type { ServiceState } from '../generated/spillway/admin/v1/ServiceState.js';
import type { State } from '../generated/spillway/admin/v1/State.js';
import { CordonState } from '../model/cordons.js';
import type { AdminLimits } from '../config/security-config.js';
import { LIMIT_PATHS } from '../config/security-config.js';
import { describePeer, peerIdentityOf } from '../xds/peer-identity.js';
import type { AuditLog } from './audit-log.js';
import { grpcAuthorization, type AdminAuth, type Caller } from './auth.js';
import type { StateFeed } from './state-feed.js';
import { ChangeCause } from '../control/read-model.js';
import {
  InvalidArgument,
  requireDuration,
  requireInHouseEndpoint,
  requireReason,
  requireService,
  requireShare,
} from './validate-request.js';

export interface AdminServiceDeps {
  publisher: Publisher;
  actions: OperatorActions;
  auth: AdminAuth;
  audit: AuditLog;
  limits: AdminLimits;
  feed: StateFeed;
  buildState(cause: ChangeCause, only?: string): State;
  buildServiceState(service: string): ServiceState;
  /** The EDS version in the snapshot cache now. */
  edsVersion(): string;
  /** Something an admin call changed; watchers and health hear of it. */
  changed(cause: ChangeCause): void;
  logger?: Logger;
}

type UnaryCall<Req> = grpc.ServerUnaryCall<Req, unknown>;

/** Who is calling, as far as the transport says (the token's name is added once it is checked). */
function callerOf(call: Pick<grpc.ServerUnaryCall<unknown, unknown>, 'getPeer' | 'getAuthContext'>, token: string): Caller {
  const client = describePeer(peerIdentityOf(call));
  return { token, ...(client ? { client } : {}), peer: call.getPeer() };
}

const fail = (code: grpc.status, details: string): grpc.ServiceError =>
  Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });

export function createAdminHandlers(deps: AdminServiceDeps): AdminHandlers {
  const log = (deps.logger ?? silentLogger).child({ component: 'admin' });
  const services = () => deps.publisher.currentServices();
  // Refusals go to the operational log once per client address and problem (the audit log has every mutation).
  const once = new LogOnce();
  const refusedLine = (peer: string, problem: string): boolean => once.first(`${peer.replace(/:\d+$/, '')}\u0000${problem}`);

  /**
   * Runs a mutating call: auth, then body; maps InvalidArgument; every attempt, applied or refused,
   * goes to the audit log (never the metadata).
   */
  const mutate = <Req, Res>(
    method: string,
    call: UnaryCall<Req>,
    callback: grpc.sendUnaryData<Res>,
    body: (req: Req) => Promise<{ response: Res; log: Record<string, unknown> }>,
  ): void => {
    const peer = call.getPeer();
    const auth = deps.auth.checkWrite(grpcAuthorization(call.metadata));
    const what = argumentsOf(call.request);
    if (!auth.ok) {
      if (refusedLine(peer, `token ${auth.problem}`))
        log.warn({ method, peer, problem: auth.problem }, 'admin call refused: bad or missing bearer token');
      deps.audit.record({
        method,
        who: callerOf(call, auth.problem === 'missing' ? 'none' : 'not a valid token'),
        what,
        outcome: `unauthenticated: ${auth.problem} token`,
      });
      callback(fail(grpc.status.UNAUTHENTICATED, `${method}: a valid "authorization: Bearer <token>" is required`));
      return;
    }
    const who = callerOf(call, auth.token);
    let result: Promise<{ response: Res; log: Record<string, unknown> }>;
    try {
      result = body(call.request);
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      ({ response, log: fields }) => {
        log.info({ method, peer, ...fields }, `admin ${method}`);
        deps.audit.record({ method, who, what: fields, outcome: 'applied' });
        callback(null, response);
      },
      (err: unknown) => {
        if (err instanceof InvalidArgument) {
          if (refusedLine(peer, `${method} ${err.message.split(':')[0]}`))
            log.warn({ method, peer, problem: err.message }, `admin ${method} refused`);
          deps.audit.record({ method, who, what, outcome: `invalid argument: ${err.message}` });
          callback(fail(grpc.status.INVALID_ARGUMENT, err.message));
        } else if (err instanceof ActionUnavailable) {
          // Replicas: etcd did not record it, so no replica applies it.
          log.warn({ method, peer, problem: err.message }, `admin ${method} not recorded`);
          deps.audit.record({ method, who, what, outcome: `unavailable: ${err.message}` });
          callback(fail(grpc.status.UNAVAILABLE, err.message));
        } else {
          log.error({ method, peer, err: errorMessage(err) }, `admin ${method} failed`);
          deps.audit.record({ method, who, what, outcome: `failed: ${errorMessage(err)}` });
          callback(fail(grpc.status.INTERNAL, errorMessage(err)));
        }
      },
    );
  };

  /** Reads need the read token when one is configured (or the admin token). */
  const mayRead = (method: string, call: Pick<UnaryCall<unknown>, 'metadata' | 'getPeer'>): grpc.ServiceError | undefined => {
    const auth = deps.auth.checkRead(grpcAuthorization(call.metadata));
    if (auth.ok) return undefined;
    if (refusedLine(call.getPeer(), `read token ${auth.problem}`)) {
      log.warn({ method, peer: call.getPeer(), problem: auth.problem }, 'admin read refused: bad or missing bearer token');
    }
    return fail(
      grpc.status.UNAUTHENTICATED,
      `${method}: a valid "authorization: Bearer <token>" (the read token or the admin token) is required`,
    );
  };
  let watchers = 0;

  const cordon =
    (method: string, state: CordonState | undefined) =>
    (call: UnaryCall<CordonRequest__Output>, callback: grpc.sendUnaryData<CordonResponse>): void =>
      mutate(method, call, callback, async (req) => {
        const svc = requireService(services(), req.service);
        const endpoint = requireInHouseEndpoint(svc, deps.publisher.inHouseOf(svc.name), req.endpoint);
        const reason = requireReason(req.reason, deps.limits.maxReasonBytes);
        const r = await deps.actions.cordon(svc.name, endpoint, state, reason);
        if (!r.ok) throw new InvalidArgument(`endpoint: the resulting configuration does not validate: ${r.errors.join('; ')}`);
        deps.changed(ChangeCause.Cordon);
        const health: EndpointHealth = state ?? 'HEALTHY';
        return {
          response: {
            service: svc.name,
            endpoint,
            health,
            eds_version: deps.edsVersion(),
          },
          log: { service: svc.name, endpoint, health, reason },
        };
      });

  return {
    GetState(call, callback) {
      const denied = mayRead('GetState', call);
      if (denied) return callback(denied);
      try {
        if (call.request.service) requireService(services(), call.request.service);
        callback(null, deps.buildState(ChangeCause.Initial, call.request.service || undefined));
      } catch (err) {
        callback(fail(grpc.status.INVALID_ARGUMENT, errorMessage(err)));
      }
    },

    WatchWeights(call) {
      const denied = mayRead('WatchWeights', call);
      if (denied) return void call.emit('error', denied);
      if (watchers >= deps.limits.maxWatchers) {
        const details = `${watchers} WatchWeights streams are open; ${LIMIT_PATHS.admin.maxWatchers} = ${deps.limits.maxWatchers}`;
        if (refusedLine(call.getPeer(), 'watchers')) log.warn({ peer: call.getPeer(), problem: details }, 'admin watch refused');
        return void call.emit('error', fail(grpc.status.RESOURCE_EXHAUSTED, details));
      }
      const only = call.request.service || undefined;
      if (only) {
        try {
          requireService(services(), only);
        } catch (err) {
          call.emit('error', fail(grpc.status.INVALID_ARGUMENT, errorMessage(err)));
          return;
        }
      }
      // A slow watcher gets the newest state when it drains, never a queue of old ones.
      let latest: State | undefined;
      let blocked = false;
      const send = (s: State): void => {
        if (blocked) {
          latest = s;
          return;
        }
        blocked = !call.write(s);
      };
      call.on('drain', () => {
        blocked = false;
        const s = latest;
        latest = undefined;
        if (s) send(s);
      });
      const unsubscribeFeed = deps.feed.subscribe((s) =>
        send(only ? { ...s, services: (s.services ?? []).filter((x) => x.name === only) } : s),
      );
      watchers++;
      let open = true;
      const unsubscribe = (): void => {
        if (!open) return;
        open = false;
        watchers--;
        unsubscribeFeed();
      };
      call.on('cancelled', unsubscribe);
      call.on('close', unsubscribe);
      call.on('error', unsubscribe);
      send(deps.buildState(ChangeCause.Initial, only));
    },

    Cordon: cordon('Cordon', CordonState.Draining),
    SoftCordon: cordon('SoftCordon', CordonState.Degraded),
    Uncordon: cordon('Uncordon', undefined),

    Override(call: UnaryCall<OverrideRequest__Output>, callback: grpc.sendUnaryData<ServiceState>) {
      mutate('Override', call, callback, async (req) => {
        const svc = requireService(services(), req.service);
        const share = requireShare(svc, req.share);
        const durationMs = requireDuration(req.duration);
        const reason = requireReason(req.reason, deps.limits.maxReasonBytes);
        const r = await deps.actions.override(svc.name, share, durationMs, reason);
        if (!r.ok) throw new InvalidArgument(`share: the resulting configuration does not validate: ${r.errors.join('; ')}`);
        deps.changed(ChangeCause.Override);
        return {
          response: deps.buildServiceState(svc.name),
          log: { service: svc.name, share, durationMs, reason },
        };
      });
    },

    ClearOverride(call: UnaryCall<ClearOverrideRequest__Output>, callback: grpc.sendUnaryData<ServiceState>) {
      mutate('ClearOverride', call, callback, async (req) => {
        const svc = requireService(services(), req.service);
        const had = await deps.actions.clearOverride(svc.name);
        deps.changed(ChangeCause.Override);
        return { response: deps.buildServiceState(svc.name), log: { service: svc.name, hadOverride: had, reason: req.reason } };
      });
    },
  };
}

/** A request's arguments for the audit log, before validation: strings cut short, nothing else kept. */
function argumentsOf(req: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof req !== 'object' || req === null) return out;
  for (const [k, v] of Object.entries(req as Record<string, unknown>)) {
    if (typeof v === 'string') out[k] = v.length > 120 ? `${v.slice(0, 120)}… (${v.length} characters)` : v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (v && typeof v === 'object' && 'seconds' in v) out[k] = v;
  }
  return out;
}
