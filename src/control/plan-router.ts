// Decides which plan the publisher gets for a service: the controller's latest decision, or an
// operator override while one is active. The controller keeps deciding during an override (its
// decisions are shown in the admin state); when the override ends its latest plan is published again.
import type { Decision } from '../capacity/types.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Publisher, PublishResult } from './publisher.js';
import { planForShare, type TrafficPlan } from '../model/traffic-plan.js';
import type { ActiveOverride, OverrideStore } from './override-store.js';

/** Who set the plan a service runs now. */
export const PlanSource = {
  /** The configured static share (no controller, no override). */
  Static: 'STATIC',
  /** The capacity controller's latest decision. */
  Controller: 'CONTROLLER',
  /** An operator override, until it expires or is cleared. */
  Override: 'OVERRIDE',
} as const;
export type PlanSource = (typeof PlanSource)[keyof typeof PlanSource];

export type OverrideResult = { ok: true; override: ActiveOverride } | { ok: false; errors: string[] };

export class PlanRouter {
  private readonly decisions = new Map<string, Decision>();
  /** For services without a decision: the plan in force before the override, restored after it. */
  private readonly before = new Map<string, TrafficPlan | undefined>();
  private readonly log: Logger;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly publisher: Publisher,
    private readonly overrides: OverrideStore,
    logger: Logger = silentLogger,
  ) {
    this.log = logger.child({ component: 'override' });
    this.unsubscribe = overrides.onChange((service, override, why) => {
      if (!override) this.restore(service, why);
    });
  }

  /** The controller's output for a service; published unless an override is active. */
  decision(service: string, decision: Decision): PublishResult | undefined {
    this.decisions.set(service, decision);
    if (this.overrides.get(service)) return undefined;
    return this.publisher.setPlan(service, decision.plan);
  }

  /** Resumes from a restart: the controller's restored decision, already published (by Publisher.seed). */
  seedDecision(service: string, decision: Decision): void {
    this.decisions.set(service, decision);
  }

  latestDecision(service: string): Decision | undefined {
    return this.decisions.get(service);
  }

  /** Publishes share for durationMs (both already validated); refused if the plan does not validate. */
  override(service: string, share: number, durationMs: number, reason: string): OverrideResult {
    const hadOverride = this.overrides.get(service) !== undefined;
    if (!hadOverride) this.before.set(service, this.publisher.assignedPlan(service));
    const r = this.publisher.setPlan(service, planForShare(share));
    if (!r.ok) {
      if (!hadOverride) this.before.delete(service);
      return { ok: false, errors: r.errors };
    }
    const override = this.overrides.set(service, share, durationMs, reason);
    this.log.info({ service, share, durationMs, expiresAtMs: override.expiresAtMs, reason }, 'override set');
    return { ok: true, override };
  }

  /**
   * Publishes an override set through another replica, with its own times (replicas: every replica
   * runs the overrides recorded in etcd). Refused if its plan does not validate here.
   */
  adoptOverride(override: ActiveOverride): OverrideResult {
    const hadOverride = this.overrides.get(override.service) !== undefined;
    if (!hadOverride) this.before.set(override.service, this.publisher.assignedPlan(override.service));
    const r = this.publisher.setPlan(override.service, planForShare(override.share));
    if (!r.ok) {
      if (!hadOverride) this.before.delete(override.service);
      return { ok: false, errors: r.errors };
    }
    const adopted = this.overrides.adopt(override);
    if (!adopted) {
      this.restore(override.service, 'expired');
      return { ok: false, errors: [`the override expired at ${new Date(override.expiresAtMs).toISOString()}`] };
    }
    this.log.info(
      { service: override.service, share: override.share, expiresAtMs: override.expiresAtMs, reason: override.reason },
      'override set',
    );
    return { ok: true, override: adopted };
  }

  /** True when there was an override; the controller's (or the previous) plan is published again. */
  clear(service: string): boolean {
    return this.overrides.clear(service);
  }

  source(service: string): PlanSource {
    if (this.overrides.get(service)) return PlanSource.Override;
    return this.decisions.has(service) ? PlanSource.Controller : PlanSource.Static;
  }

  close(): void {
    this.unsubscribe();
  }

  private restore(service: string, why: string): void {
    const decided = this.decisions.get(service)?.plan;
    const plan = decided ?? this.before.get(service);
    this.before.delete(service);
    const r = this.publisher.setPlan(service, plan);
    const restored = decided ? "the controller's latest plan" : plan ? 'the plan in force before the override' : 'the static plan';
    this.log.info(
      { service, why, restored, modalWeight: this.publisher.plan(service)?.modalWeight, ok: r.ok },
      `override ${why}; ${restored} is published again`,
    );
  }
}
