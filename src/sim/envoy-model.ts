// What Envoy does with one ClusterLoadAssignment, as fractions of offered requests: the simulator's
// model of Envoy's load balancer, kept honest by a conformance suite that feeds the same assignments
// to a real Envoy (test/integration/envoy-conformance.test.ts). One priority (Spillway publishes one),
// locality-weighted round robin, panic mode off.
//
// Envoy's order of work for a request: drop_overloads first (a fraction of everything offered), then
// priority-level health (healthy hosts first; degraded hosts only take what healthy availability
// cannot), then a locality by its effective weight, then a host in it by endpoint weight.
import type { ClusterLoadAssignment } from '../generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js';

/** A host's health as Envoy treats it. DRAINING hosts are excluded: they count nowhere. */
export type HostHealth = 'HEALTHY' | 'DEGRADED' | 'DRAINING' | 'UNHEALTHY';

export interface ModelHost {
  id: string;
  health: HostHealth;
  /** Endpoint load_balancing_weight (default 1). */
  weight?: number;
}

export interface ModelLocality {
  name: string;
  weight: number;
  hosts: readonly ModelHost[];
}

export interface ModelAssignment {
  localities: readonly ModelLocality[];
  /** drop_overloads, percent of offered requests. */
  dropPercent: number;
  /** policy.overprovisioning_factor, percent (Envoy's default 140). */
  overprovisioningFactor?: number;
}

export interface ModelShares {
  dropped: number;
  /** Fraction of offered requests each locality receives. */
  byLocality: Record<string, number>;
  /** Fraction of offered requests each host receives. */
  byHost: Record<string, number>;
  /** Offered requests no host can take (every host unhealthy, no panic): Envoy answers 503. */
  noHost: number;
}

const DEFAULT_OPF = 140;

/**
 * A locality's effective weight among hosts of one class (healthy or degraded): its weight scaled by
 * min(1, opf × class hosts / hosts not excluded) — losing hosts shifts load to other localities.
 */
function effectiveWeight(l: ModelLocality, cls: HostHealth, opf: number): number {
  const counted = l.hosts.filter((h) => h.health !== 'DRAINING').length;
  if (counted === 0) return 0;
  const eligible = l.hosts.filter((h) => h.health === cls).length;
  return l.weight * Math.min(1, ((opf / 100) * eligible) / counted);
}

export function trafficShares(a: ModelAssignment): ModelShares {
  const opf = a.overprovisioningFactor ?? DEFAULT_OPF;
  const dropped = Math.min(1, Math.max(0, a.dropPercent / 100));
  const all = a.localities.flatMap((l) => l.hosts).filter((h) => h.health !== 'DRAINING');
  const byLocality: Record<string, number> = Object.fromEntries(a.localities.map((l) => [l.name, 0]));
  const byHost: Record<string, number> = Object.fromEntries(a.localities.flatMap((l) => l.hosts.map((h) => [h.id, 0])));
  const count = (cls: HostHealth): number => all.filter((h) => h.health === cls).length;
  // Priority-level availability, capped at 100 %; with one priority and no panic, what both classes
  // can take is normalised to all of the traffic that was not dropped.
  const healthyAvail = all.length === 0 ? 0 : Math.min(1, ((opf / 100) * count('HEALTHY')) / all.length);
  const degradedAvail = all.length === 0 ? 0 : Math.min(1 - healthyAvail, ((opf / 100) * count('DEGRADED')) / all.length);
  const total = healthyAvail + degradedAvail;
  if (total === 0) return { dropped, byLocality, byHost, noHost: 1 - dropped };
  const passed = 1 - dropped;
  for (const [cls, avail] of [
    ['HEALTHY', healthyAvail],
    ['DEGRADED', degradedAvail],
  ] as const) {
    const load = (passed * avail) / total;
    if (load === 0) continue;
    const weights = a.localities.map((l) => effectiveWeight(l, cls, opf));
    const sum = weights.reduce((n, w) => n + w, 0);
    if (sum === 0) continue;
    a.localities.forEach((l, i) => {
      const share = (load * weights[i]!) / sum;
      byLocality[l.name] = (byLocality[l.name] ?? 0) + share;
      const hosts = l.hosts.filter((h) => h.health === cls);
      const hw = hosts.reduce((n, h) => n + (h.weight ?? 1), 0);
      for (const h of hosts) byHost[h.id] = (byHost[h.id] ?? 0) + (share * (h.weight ?? 1)) / hw;
    });
  }
  return { dropped, byLocality, byHost, noHost: 0 };
}

/**
 * The model of a ClusterLoadAssignment as Spillway builds it: localities by zone, hosts by
 * address:port with their published health. `health` overrides what Envoy's own health checks
 * decided (a host that died and was found UNHEALTHY).
 */
export function modelOfAssignment(cla: ClusterLoadAssignment, health: ReadonlyMap<string, HostHealth> = new Map()): ModelAssignment {
  return {
    localities: (cla.endpoints ?? []).map((l) => ({
      name: l.locality?.zone ?? '',
      weight: l.load_balancing_weight?.value ?? 1,
      hosts: (l.lb_endpoints ?? []).map((e) => {
        const sa = e.endpoint?.address?.socket_address;
        const id = `${sa?.address ?? ''}:${sa?.port_value ?? 0}`;
        const published = typeof e.health_status === 'string' ? e.health_status : 'HEALTHY';
        const h = health.get(id) ?? (published === 'UNKNOWN' ? 'HEALTHY' : (published as HostHealth));
        return { id, health: h, weight: e.load_balancing_weight?.value ?? 1 };
      }),
    })),
    dropPercent: (cla.policy?.drop_overloads ?? []).reduce((p, d) => p + dropPercentOf(d.drop_percentage), 0),
    overprovisioningFactor: cla.policy?.overprovisioning_factor?.value ?? DEFAULT_OPF,
  };
}

function dropPercentOf(d: { numerator?: number; denominator?: string | number } | null | undefined): number {
  if (!d?.numerator) return 0;
  const per = d.denominator === 'MILLION' ? 10_000 : d.denominator === 'TEN_THOUSAND' ? 100 : 1;
  return d.numerator / per;
}
