// The admin port, as the CLI talks to it: the Admin and CSDS clients over one channel, the bearer
// token on every call (reads need it too when Spillway is given a read token), and a deadline so a
// script never hangs on an unreachable port.
import * as grpc from '@grpc/grpc-js';
import { loadAdminProtos } from '../admin/admin-protos.js';
import type { AdminClient } from '../generated/spillway/admin/v1/Admin.js';
import type { ClientStatusDiscoveryServiceClient } from '../generated/envoy/service/status/v3/ClientStatusDiscoveryService.js';
import { systemClock } from '../core/clock.js';
import type { AdminTarget } from './args.js';

export interface AdminConnection {
  admin: AdminClient;
  csds: ClientStatusDiscoveryServiceClient;
  close(): void;
}

export type CallResult<Res> = { ok: true; res: Res } | { ok: false; err: grpc.ServiceError };

export function connectAdmin(target: AdminTarget): AdminConnection {
  const { protos } = loadAdminProtos();
  const creds = grpc.credentials.createInsecure();
  const admin = new protos.spillway.admin.v1.Admin(target.admin, creds);
  const csds = new protos.envoy.service.status.v3.ClientStatusDiscoveryService(target.admin, creds);
  return {
    admin,
    csds,
    close: () => {
      admin.close();
      csds.close();
    },
  };
}

export function bearerMetadata(token: string | undefined): grpc.Metadata {
  const md = new grpc.Metadata();
  if (token) md.set('authorization', `Bearer ${token}`);
  return md;
}

type Unary<Req, Res> = (
  req: Req,
  md: grpc.Metadata,
  options: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: Res) => void,
) => unknown;

/** One unary call with the token and a deadline; never throws. */
export function callUnary<Req, Res>(
  fn: Unary<Req, Res>,
  req: Req,
  token: string | undefined,
  deadlineMs = 5_000,
): Promise<CallResult<Res>> {
  return new Promise((resolve) => {
    fn(req, bearerMetadata(token), { deadline: systemClock.nowMs() + deadlineMs }, (err, res) =>
      resolve(err ? { ok: false, err } : { ok: true, res: res as Res }),
    );
  });
}
