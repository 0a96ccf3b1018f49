// spillway.admin.v1.Admin handlers. Reads go through the pure state view; mutations are authorised,
// validated (INVALID_ARGUMENT naming the field), logged without credentials, then applied through
// the operator actions (this process's write side, or — replicas — etcd, so every replica applies them).
import * as grpc from '@grpc/grpc-js';
import { ActionUnavailable, type OperatorActions } from '../control/operator-actions.js';
import type { Publisher } from '../control/publisher.js';
import { errorMessage } from '../core/errors.js';
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
import type { BearerAuth } from './auth.js';
import type { StateFeed } from './state-feed.js';
import { ChangeCause } from '../control/read-model.js';
import { InvalidArgument, requireDuration, requireInHouseEndpoint, requireService, requireShare } from './validate-request.js';

export interface AdminServiceDeps {
  publisher: Publisher;
  actions: OperatorActions;
  auth: BearerAuth;
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

const fail = (code: grpc.status, details: string): grpc.ServiceError =>
  Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });

export function createAdminHandlers(deps: AdminServiceDeps): AdminHandlers {
  const log = (deps.logger ?? silentLogger).child({ component: 'admin' });
  const services = () => deps.publisher.currentServices();

  /** Runs a mutating call: auth, then body; maps InvalidArgument and logs the outcome (never metadata). */
  const mutate = <Req, Res>(
    method: string,
    call: UnaryCall<Req>,
    callback: grpc.sendUnaryData<Res>,
    body: (req: Req) => Promise<{ response: Res; log: Record<string, unknown> }>,
  ): void => {
    const peer = call.getPeer();
    const auth = deps.auth.check(call.metadata);
    if (!auth.ok) {
      log.warn({ method, peer, problem: auth.problem }, 'admin call refused: bad or missing bearer token');
      callback(fail(grpc.status.UNAUTHENTICATED, `${method}: a valid "authorization: Bearer <token>" is required`));
      return;
    }
    body(call.request).then(
      ({ response, log: fields }) => {
        log.info({ method, peer, ...fields }, `admin ${method}`);
        callback(null, response);
      },
      (err: unknown) => {
        if (err instanceof InvalidArgument) {
          log.warn({ method, peer, problem: err.message }, `admin ${method} refused`);
          callback(fail(grpc.status.INVALID_ARGUMENT, err.message));
        } else if (err instanceof ActionUnavailable) {
          log.warn({ method, peer, problem: err.message }, `admin ${method} not recorded`);
          callback(fail(grpc.status.UNAVAILABLE, err.message));
        } else {
          log.error({ method, peer, err: errorMessage(err) }, `admin ${method} failed`);
          callback(fail(grpc.status.INTERNAL, errorMessage(err)));
        }
      },
    );
  };

  const cordon =
    (method: string, state: CordonState | undefined) =>
    (call: UnaryCall<CordonRequest__Output>, callback: grpc.sendUnaryData<CordonResponse>): void =>
      mutate(method, call, callback, async (req) => {
        const svc = requireService(services(), req.service);
        const endpoint = requireInHouseEndpoint(svc, req.endpoint);
        const r = await deps.actions.cordon(svc.name, endpoint, state, req.reason);
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
          log: { service: svc.name, endpoint, health, reason: req.reason },
        };
      });

  return {
    GetState(call, callback) {
      try {
        if (call.request.service) requireService(services(), call.request.service);
        callback(null, deps.buildState(ChangeCause.Initial, call.request.service || undefined));
      } catch (err) {
        callback(fail(grpc.status.INVALID_ARGUMENT, errorMessage(err)));
      }
    },

    WatchWeights(call) {
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
      const unsubscribe = deps.feed.subscribe((s) =>
        send(only ? { ...s, services: (s.services ?? []).filter((x) => x.name === only) } : s),
      );
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
        const r = await deps.actions.override(svc.name, share, durationMs, req.reason);
        if (!r.ok) throw new InvalidArgument(`share: the resulting configuration does not validate: ${r.errors.join('; ')}`);
        deps.changed(ChangeCause.Override);
        return {
          response: deps.buildServiceState(svc.name),
          log: { service: svc.name, share, durationMs, reason: req.reason },
        };
      });
    },

    ClearOverride(call: UnaryCall<ClearOverrideRequest__Output>, callback: grpc.sendUnaryData<ServiceState>) {
      mutate('ClearOverride', call, callback, async (req) => {
        const svc = requireService(services(), req.service);
        const had = await deps.actions.clearOverride(svc.name);
        deps.changed(ChangeCause.Override);
        return { response: deps.buildServiceState(svc.name), log: { service: svc.name, hadOverride: had } };
      });
    },
  };
}
