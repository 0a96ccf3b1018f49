// Readers for the DNS sources: A/AAAA of a name (every address, the port from the config) and SRV
// (the lowest-priority group's targets with their ports; the weight is the capacity unless the config
// gives one). Re-read when the smallest TTL runs out, clamped to the configured bounds. Node's
// resolver does not expose SRV TTLs, so an SRV source follows its targets' address TTLs.
import type { DnsSourceConfig, SrvSourceConfig } from '../config/config-types.js';
import { errorMessage } from '../core/errors.js';
import type { DnsClient } from './dns-client.js';
import type { SourceReader } from './endpoint-source.js';

export interface TtlBounds {
  minTtlMs: number;
  maxTtlMs: number;
}

const clampTtl = (ttlMs: number | undefined, b: TtlBounds): number => Math.min(b.maxTtlMs, Math.max(b.minTtlMs, ttlMs ?? b.minTtlMs));

export function addressReader(cfg: DnsSourceConfig, dns: DnsClient, ttl: TtlBounds, defaultCapacity: number | undefined): SourceReader {
  const capacity = cfg.capacity ?? defaultCapacity ?? 1;
  return async () => {
    try {
      const answer = await dns.addresses(cfg.name, cfg.family);
      return {
        outcome: { kind: 'answer', endpoints: answer.addresses.map((address) => ({ address, port: cfg.port, capacity })) },
        nextMs: clampTtl(answer.ttlMs, ttl),
      };
    } catch (err) {
      return { outcome: { kind: 'failure', problem: errorMessage(err) }, nextMs: ttl.minTtlMs };
    }
  };
}

export function srvReader(cfg: SrvSourceConfig, dns: DnsClient, ttl: TtlBounds, defaultCapacity: number | undefined): SourceReader {
  return async () => {
    try {
      const records = await dns.srv(cfg.name);
      // RFC 2782: a lower priority is preferred; the other groups are standbys.
      const best = records.length > 0 ? Math.min(...records.map((r) => r.priority)) : 0;
      const chosen = records.filter((r) => r.priority === best && r.target !== '.' && r.target !== '');
      const answers = await Promise.all(chosen.map((r) => dns.addresses(r.target, 'any')));
      const endpoints = chosen.flatMap((r, i) =>
        (answers[i]?.addresses ?? []).map((address) => ({
          address,
          port: r.port,
          capacity: cfg.capacity ?? (r.weight > 0 ? r.weight : (defaultCapacity ?? 1)),
        })),
      );
      const ttls = answers.flatMap((a) => (a.ttlMs === undefined ? [] : [a.ttlMs]));
      return { outcome: { kind: 'answer', endpoints }, nextMs: clampTtl(ttls.length > 0 ? Math.min(...ttls) : undefined, ttl) };
    } catch (err) {
      return { outcome: { kind: 'failure', problem: errorMessage(err) }, nextMs: ttl.minTtlMs };
    }
  };
}
