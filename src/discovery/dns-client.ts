// DNS lookups with TTLs, through Node's resolver (c-ares: UDP with TCP fallback, the system's servers
// unless others are named). "No such name" and "no records of this type" are answers (empty); a
// timeout, SERVFAIL or refusal is a failure, which callers treat differently: an answer can empty a
// set, a failure never does.
import { Resolver } from 'node:dns/promises';
import type { HostPort } from '../core/host-port.js';

export type AddressFamily = 'any' | 'ipv4' | 'ipv6';

export interface AddressAnswer {
  /** Every address of the name, sorted (A records first, then AAAA). */
  addresses: string[];
  /** Smallest TTL among the records; undefined for an empty answer. */
  ttlMs: number | undefined;
}

export interface SrvRecord {
  target: string;
  port: number;
  priority: number;
  weight: number;
}

export interface DnsClient {
  addresses(name: string, family: AddressFamily): Promise<AddressAnswer>;
  /** SRV records of a name (Node's resolver does not expose their TTL). */
  srv(name: string): Promise<SrvRecord[]>;
}

/** Resolver error codes that mean "the name has no such records": an answer, not a failure. */
const EMPTY_ANSWER_CODES = new Set(['ENODATA', 'ENOTFOUND']);

export class DnsFailure extends Error {
  constructor(
    readonly query: string,
    readonly code: string,
  ) {
    super(`${query}: ${code}`);
    this.name = 'DnsFailure';
  }
}

const codeOf = (err: unknown): string =>
  typeof err === 'object' && err !== null ? String((err as { code?: unknown }).code ?? 'EUNKNOWN') : 'EUNKNOWN';

export function createDnsClient(opts: { servers: readonly HostPort[]; timeoutMs: number }): DnsClient {
  const resolver = new Resolver({ timeout: opts.timeoutMs, tries: 2 });
  if (opts.servers.length > 0) {
    resolver.setServers(opts.servers.map((s) => (s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`)));
  }

  const records = async <T>(query: string, lookup: () => Promise<T[]>): Promise<T[]> => {
    try {
      return await lookup();
    } catch (err) {
      if (EMPTY_ANSWER_CODES.has(codeOf(err))) return [];
      throw new DnsFailure(query, codeOf(err));
    }
  };

  return {
    async addresses(name, family) {
      const [v4, v6] = await Promise.all([
        family === 'ipv6' ? [] : records(`A ${name}`, () => resolver.resolve4(name, { ttl: true })),
        family === 'ipv4' ? [] : records(`AAAA ${name}`, () => resolver.resolve6(name, { ttl: true })),
      ]);
      const all = [...v4, ...v6];
      return {
        addresses: [...v4.map((r) => r.address).sort(), ...v6.map((r) => r.address).sort()],
        ttlMs: all.length > 0 ? Math.min(...all.map((r) => r.ttl)) * 1000 : undefined,
      };
    },
    async srv(name) {
      const found = await records(`SRV ${name}`, () => resolver.resolveSrv(name));
      return found.map((r) => ({ target: r.name, port: r.port, priority: r.priority, weight: r.weight }));
    },
  };
}
