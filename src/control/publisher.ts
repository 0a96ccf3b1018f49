import { Listeners } from '../core/listeners.js';
import type { ServiceConfig } from '../config/config-types.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { SpillwayProtos } from '../protos/load-protos.js';
import { buildDesiredState } from '../resources/desired-state.js';
import type { CordonState, Cordons } from '../model/cordons.js';
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
  private readonly modalIps = new Map<string, string>();
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

  setModalIp(service: string, ip: string): PublishResult {
    if (this.modalIps.get(service) === ip) return { ok: true, changed: new Set(), errors: [] };
    this.modalIps.set(service, ip);
    return this.publish();
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
