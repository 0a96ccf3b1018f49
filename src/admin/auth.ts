// Bearer-token checks for the admin port and the status page: the admin token guards mutations, an
// optional read token guards reads (the admin token reads too). Both sides are hashed first so
// timingSafeEqual always compares equal-length buffers and the comparison time says nothing about
// the token's length or prefix. Tokens are known by their names (the env var holding them) in the
// audit log; the token itself is never kept in clear.
//
// Every read path (GetState, WatchWeights, CSDS, the status page and its event stream) goes through
// AdminAuth.checkRead, and every mutation through AdminAuth.checkWrite: one place decides who may
// read and who may change things, whatever the transport (gRPC metadata or HTTP headers).
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

/** Who made an admin call, for the audit log: the token's name, the client certificate's identity, the address. */
export interface Caller {
  /** The name of the token presented (its env var), or "none" when none was needed. */
  token: string;
  /** The verified client certificate's identity (mutual TLS), if any. */
  client?: string;
  peer: string;
}

/** A check's outcome; when allowed, the name of the token that allowed it (for the audit log). */
export type Access = { ok: true; token: string } | { ok: false; problem: AuthProblem };

export interface AdminTokens {
  token?: string;
  tokenName?: string;
  readToken?: string;
  readTokenName?: string;
}

export class AdminAuth {
  private readonly write: BearerAuth;
  private readonly read: BearerAuth;

  constructor(private readonly tokens: AdminTokens) {
    this.write = new BearerAuth(tokens.token);
    this.read = new BearerAuth(tokens.readToken);
  }

  /** Mutations: the admin token, when one is configured. */
  checkWrite(authorization: AuthorizationValues): Access {
    if (!this.write.required) return { ok: true, token: 'none' };
    const r = this.write.checkValues(authorization);
    return r.ok ? { ok: true, token: this.tokens.tokenName ?? 'admin token' } : r;
  }

  /** Reads: the read token or the admin token, when a read token is configured. */
  checkRead(authorization: AuthorizationValues): Access {
    if (!this.read.required) return { ok: true, token: 'none' };
    const r = this.read.checkValues(authorization);
    if (r.ok) return { ok: true, token: this.tokens.readTokenName ?? 'read token' };
    const w = this.write.required ? this.write.checkValues(authorization) : r;
    return w.ok ? { ok: true, token: this.tokens.tokenName ?? 'admin token' } : r;
  }

  /** Whether reads need a token (the status page asks for one when they do). */
  get readGuarded(): boolean {
    return this.read.required;
  }
}
