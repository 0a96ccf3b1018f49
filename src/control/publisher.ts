import { Listeners } from '../core/listeners.js';
import type { InHouseEndpoint, ServiceConfig } from '../config/config-types.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { SpillwayProtos } from '../protos/load-protos.js';
import { buildDesiredState } from '../resources/desired-state.js';
import type { CordonState, Cordons } from '../model/cordons.js';
import { mergeEndpoints } from '../model/fleet.js';
import { inHouseHealthyFraction, type FleetHealth } from '../model/host-health.js';
import { staticPlanFor, type TrafficPlan } from '../model/traffic-plan.js';
import { validateDesiredState } from '../resources/validate.js';
import { SnapshotEncoder } from '../xds/snapshot.js';
import type { SnapshotCache } from '../xds/snapshot-cache.js';
import type { TypeUrl } from '../xds/type-urls.js';

/** What the publisher has done since start: the last refusal's errors name what was wrong. */
export interface PublisherStats {
  published: number;
  unchanged: number;
  rejected: number;
  lastErrors: string[];
}

export interface PublishResult {
  ok: boolean;
  changed: ReadonlySet<TypeUrl>;
  errors: string[];
}

/**
 * Owns the desired-state inputs (services, traffic plans, resolved Modal IPs, cordons) and turns
 * every change into a validated snapshot. An invalid result is refused, counted and logged, and
 * the last good snapshot keeps serving.
 */
export class Publisher {
  private services: readonly ServiceConfig[];
  private readonly plans = new Map<string, TrafficPlan>();
  private readonly modalIps = new Map<string, readonly string[]>();
  private readonly discovered = new Map<string, readonly InHouseEndpoint[]>();
  private readonly hostHealth = new Map<string, FleetHealth>();
  private readonly cordons = new Map<string, Map<string, CordonState>>();
  private readonly log: Logger;
  /** Re-encodes only what changed from one publish to the next. */
  private readonly encoder: SnapshotEncoder;
  readonly stats: PublisherStats = { published: 0, unchanged: 0, rejected: 0, lastErrors: [] };
  /** The snapshot is already installed when listeners run: an observer's bug must not make the caller think otherwise. */
  private readonly listeners = new Listeners<[PublishResult]>((err) =>
    this.log.error({ error: err instanceof Error ? err.message : String(err) }, 'publish listener failed'),
  );

  constructor(
    private readonly cache: SnapshotCache,
    private readonly protos: SpillwayProtos,
    services: readonly ServiceConfig[],
    logger: Logger = silentLogger,
  ) {
    this.services = services;
    this.encoder = new SnapshotEncoder(protos);
    this.log = logger.child({ component: 'publisher' });
  }

  currentServices(): readonly ServiceConfig[] {
    return this.services;
  }

  /** The plan in force for a service: the one set for it, else its static plan (undefined for an unknown service). */
  plan(service: string): TrafficPlan | undefined {
    const set = this.plans.get(service);
    if (set) return set;
    const svc = this.service(service);
    return svc ? staticPlanFor(svc) : undefined;
  }

  /** The plan set for a service (by the controller or an override); undefined when it runs its static plan. */
  assignedPlan(service: string): TrafficPlan | undefined {
    return this.plans.get(service);
  }

  service(name: string): ServiceConfig | undefined {
    return this.services.find((s) => s.name === name);
  }

  /**
   * Sets plans, cordons and Modal addresses restored from before a restart, replacing any set so far,
   * without publishing: the next publish() (before any stream is served) includes them.
   */
  seed(restored: {
    plans: ReadonlyMap<string, TrafficPlan>;
    cordons: ReadonlyMap<string, ReadonlyMap<string, CordonState>>;
    modalIps: ReadonlyMap<string, readonly string[]>;
  }): void {
    this.plans.clear();
    this.cordons.clear();
    this.modalIps.clear();
    for (const [s, p] of restored.plans) this.plans.set(s, p);
    for (const [s, m] of restored.cordons) this.cordons.set(s, new Map(m));
    for (const [s, ips] of restored.modalIps) this.modalIps.set(s, [...ips]);
  }

  onPublish(fn: (r: PublishResult) => void): () => void {
    return this.listeners.add(fn);
  }

  setServices(services: readonly ServiceConfig[]): PublishResult {
    const prev = this.services;
    this.services = services;
    const r = this.publish();
    if (!r.ok) this.services = prev;
    return r;
  }

  /** Sets the plan in force for a service; undefined returns it to its static plan. */
  setPlan(service: string, plan: TrafficPlan | undefined): PublishResult {
    const prev = this.plans.get(service);
    if (plan) this.plans.set(service, plan);
    else this.plans.delete(service);
    const r = this.publish();
    if (!r.ok) {
      if (prev) this.plans.set(service, prev);
      else this.plans.delete(service);
    }
    return r;
  }

  /** Every address the Modal hostname resolves to (all A and AAAA records). */
  setModalAddresses(service: string, addresses: readonly string[]): PublishResult {
    const next = [...new Set(addresses)].sort();
    const prev = this.modalIps.get(service);
    if (prev && prev.length === next.length && prev.every((a, i) => a === next[i])) return { ok: true, changed: new Set(), errors: [] };
    this.modalIps.set(service, next);
    const r = this.publish();
    if (!r.ok) {
      if (prev) this.modalIps.set(service, prev);
      else this.modalIps.delete(service);
    }
    return r;
  }

  modalAddresses(service: string): readonly string[] {
    return this.modalIps.get(service) ?? [];
  }

  /** The endpoints the service's sources discovered (merged with the static ones); an EDS-only change. */
  setDiscovered(service: string, endpoints: readonly InHouseEndpoint[]): PublishResult {
    const prev = this.discovered.get(service);
    this.discovered.set(service, endpoints);
    const r = this.publish();
    if (!r.ok) {
      if (prev) this.discovered.set(service, prev);
      else this.discovered.delete(service);
    }
    return r;
  }

  /** The in-house endpoints in force: static ones merged with discovered ones. */
  inHouseOf(service: string): InHouseEndpoint[] {
    const svc = this.service(service);
    return mergeEndpoints(svc?.inHouse ?? [], this.discovered.get(service) ?? []);
  }

  /** Which in-house hosts Envoy really uses (from LRS); moves the published weights only. */
  setHostHealth(service: string, health: FleetHealth): PublishResult {
    this.hostHealth.set(service, health);
    return this.publish();
  }

  hostHealthOf(service: string): FleetHealth {
    return this.hostHealth.get(service) ?? new Map();
  }

  setCordon(service: string, endpoint: string, state: CordonState | undefined): PublishResult {
    const m = this.cordons.get(service) ?? new Map<string, CordonState>();
    const prev = m.get(endpoint);
    if (state) m.set(endpoint, state);
    else m.delete(endpoint);
    this.cordons.set(service, m);
    const r = this.publish();
    if (!r.ok) {
      if (prev) m.set(endpoint, prev);
      else m.delete(endpoint);
    }
    return r;
  }

  cordonsOf(service: string): Cordons {
    return this.cordons.get(service) ?? new Map();
  }

  /** Builds, validates and (if valid) installs a snapshot of the current inputs. */
  publish(): PublishResult {
    const desired = buildDesiredState(
      {
        services: this.services,
        planOf: (s) => this.plans.get(s.name) ?? staticPlanFor(s),
        modalIps: this.modalIps,
        cordons: this.cordons,
        inHouseOf: (s) => this.inHouseOf(s.name),
        healthyFractionOf: (s) => inHouseHealthyFraction(this.inHouseOf(s.name), this.cordonsOf(s.name), this.hostHealth.get(s.name)),
      },
      this.protos,
    );
    const errors = validateDesiredState(desired, this.protos);
    if (errors.length > 0) {
      this.stats.rejected++;
      this.stats.lastErrors = errors;
      this.log.error({ errors }, 'refused to publish an invalid configuration; the last good snapshot keeps serving');
      const r = { ok: false, changed: new Set<TypeUrl>(), errors };
      this.notify(r);
      return r;
    }
    const changed = this.cache.set(this.encoder.encode(desired));
    if (changed.size > 0) {
      this.stats.published++;
      const snap = this.cache.current();
      this.log.info(
        { versions: snap && Object.fromEntries(Object.entries(snap.types).map(([t, s]) => [t.split('.').pop(), s.version])) },
        'published snapshot',
      );
    } else {
      this.stats.unchanged++;
    }
    const r = { ok: true, changed, errors: [] };
    this.notify(r);
    return r;
  }

  private notify(r: PublishResult): void {
    this.listeners.emit(r);
  }
}
