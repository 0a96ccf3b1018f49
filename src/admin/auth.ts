// Bearer-token check for mutating admin calls. Both sides are hashed first so timingSafeEqual always
// compares equal-length buffers and the comparison time says nothing about the token's length or prefix.
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
