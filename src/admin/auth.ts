// Bearer-token checks for the admin port and the status page. Both sides are hashed first so
// timingSafeEqual always compares equal-length buffers and the comparison time says nothing about
// the token's length or prefix.
//
// Every read path (GetState, WatchWeights, CSDS, the status page and its event stream) goes through
// AdminAuth.checkRead, and every mutation through AdminAuth.checkMutation: one place decides who
// may read and who may change things, whatever the transport (gRPC metadata or HTTP headers).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type * as grpc from '@grpc/grpc-js';

export type AuthProblem = 'missing' | 'malformed' | 'wrong';
export type AuthResult = { ok: true } | { ok: false; problem: AuthProblem };

/** The values of a call's `authorization` header, from either transport. */
export type AuthorizationValues = ReadonlyArray<string | Buffer>;

export const grpcAuthorization = (metadata: grpc.Metadata): AuthorizationValues => metadata.get('authorization');

export const httpAuthorization = (headers: IncomingHttpHeaders): AuthorizationValues =>
  headers.authorization === undefined ? [] : [headers.authorization];

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export class BearerAuth {
  private readonly expected: Buffer | undefined;

  /** token undefined: no token configured, every call is allowed (the port is loopback-only by default). */
  constructor(token: string | undefined) {
    this.expected = token ? digest(token) : undefined;
  }

  get required(): boolean {
    return this.expected !== undefined;
  }

  check(metadata: grpc.Metadata): AuthResult {
    return this.checkValues(grpcAuthorization(metadata));
  }

  checkValues(values: AuthorizationValues): AuthResult {
    if (!this.expected) return { ok: true };
    const header = values.length === 1 && typeof values[0] === 'string' ? values[0] : undefined;
    if (header === undefined) return { ok: false, problem: values.length === 0 ? 'missing' : 'malformed' };
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m?.[1]) return { ok: false, problem: 'malformed' };
    return timingSafeEqual(digest(m[1]), this.expected) ? { ok: true } : { ok: false, problem: 'wrong' };
  }
}

export interface AdminAuthOptions {
  /** Bearer token mutations need (admin.token_env); none: mutations are open. */
  mutationToken: string | undefined;
  /** Bearer token reads need; none: reads are open. The mutation token is accepted for reads too. */
  readToken?: string | undefined;
}

export class AdminAuth {
  private readonly mutation: BearerAuth;
  private readonly read: BearerAuth;

  constructor(opts: AdminAuthOptions) {
    this.mutation = new BearerAuth(opts.mutationToken);
    this.read = new BearerAuth(opts.readToken);
  }

  /** Whether reads need a token (the status page asks for one when they do). */
  get readRequired(): boolean {
    return this.read.required;
  }

  /** The one check for every read path. */
  checkRead(authorization: AuthorizationValues): AuthResult {
    const r = this.read.checkValues(authorization);
    if (r.ok || !this.mutation.required) return r;
    return this.mutation.checkValues(authorization).ok ? { ok: true } : r;
  }

  /** The one check for every mutation. */
  checkMutation(authorization: AuthorizationValues): AuthResult {
    return this.mutation.checkValues(authorization);
  }
}
