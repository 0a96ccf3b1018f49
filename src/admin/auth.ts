// Bearer-token checks for admin calls: the admin token guards mutations, an optional read token
// guards GetState/WatchWeights (the admin token reads too). Both sides are hashed first so
// timingSafeEqual always compares equal-length buffers and the comparison time says nothing about
// the token's length or prefix. Tokens are known by their names (the env var holding them) in the
// audit log; the token itself is never kept in clear.
import { createHash, timingSafeEqual } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';

export type AuthResult = { ok: true } | { ok: false; problem: 'missing' | 'malformed' | 'wrong' };

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
    if (!this.expected) return { ok: true };
    const values = metadata.get('authorization');
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

export type Access = { ok: true; token: string } | { ok: false; problem: 'missing' | 'malformed' | 'wrong' };

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
  checkWrite(metadata: grpc.Metadata): Access {
    if (!this.write.required) return { ok: true, token: 'none' };
    const r = this.write.check(metadata);
    return r.ok ? { ok: true, token: this.tokens.tokenName ?? 'admin token' } : r;
  }

  /** Reads: the read token or the admin token, when a read token is configured. */
  checkRead(metadata: grpc.Metadata): Access {
    if (!this.read.required) return { ok: true, token: 'none' };
    const r = this.read.check(metadata);
    if (r.ok) return { ok: true, token: this.tokens.readTokenName ?? 'read token' };
    const w = this.write.required ? this.write.check(metadata) : r;
    return w.ok ? { ok: true, token: this.tokens.tokenName ?? 'admin token' } : r;
  }

  get readGuarded(): boolean {
    return this.read.required;
  }
}
