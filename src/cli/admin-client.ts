// The admin port, as the CLI talks to it: the Admin and CSDS clients over one channel, the bearer
// token on every call (reads need it too when Spillway is given a read token), and a deadline so a
// script never hangs on an unreachable port.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { loadAdminProtos } from '../admin/admin-protos.js';
import type { AdminClient } from '../generated/spillway/admin/v1/Admin.js';
import type { ClientStatusDiscoveryServiceClient } from '../generated/envoy/service/status/v3/ClientStatusDiscoveryService.js';
import { systemClock } from '../core/clock.js';
import type { AdminTarget, AdminTls } from './args.js';

export interface AdminConnection {
  admin: AdminClient;
  csds: ClientStatusDiscoveryServiceClient;
  close(): void;
}

export type CallResult<Res> = { ok: true; res: Res } | { ok: false; err: grpc.ServiceError };

/** Plaintext, or TLS to an admin port with admin.tls (mutual with this client's certificate). */
export function credentialsFor(tls: AdminTls | undefined): { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  if (!tls) return { credentials: grpc.credentials.createInsecure(), options: {} };
  const key = tls.keyFile ? readFileSync(tls.keyFile) : null;
  const cert = tls.certFile ? readFileSync(tls.certFile) : null;
  return {
    credentials: grpc.credentials.createSsl(readFileSync(tls.caFile), key, cert),
    options: tls.serverName ? { 'grpc.ssl_target_name_override': tls.serverName } : {},
  };
}

export function connectAdmin(target: AdminTarget): AdminConnection {
  const { protos } = loadAdminProtos();
  const { credentials, options } = credentialsFor(target.tls);
  const admin = new protos.spillway.admin.v1.Admin(target.admin, credentials, options);
  const csds = new protos.envoy.service.status.v3.ClientStatusDiscoveryService(target.admin, credentials, options);
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
