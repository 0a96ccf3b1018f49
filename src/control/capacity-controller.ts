// The loop around the pure model: every tick (and soon after a new input), per service, read inputs →
// decide() → hand a changed plan on, and state the autoscaler intent to the one actuator. Clock and
// scheduler are injected, so tests drive it in virtual time.
import { decide } from '../capacity/decide.js';
import type { ControllerInputs, Decision } from '../capacity/types.js';
import { PolicyName, type CapacityPolicy } from '../config/capacity-policy.js';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { every, type Cancel, type Scheduler } from '../core/scheduler.js';

/** How long a nudge waits, so inputs arriving together (poll + LRS) make one decision. */
const NUDGE_DELAY_MS = 20;

/**
 * Where autoscaler intents go: the one actuator (modal/autoscaler-actuator.ts) rate-limits them,
 * applies them, reads Modal back and re-applies after a deploy. The controller only says what it wants.
 */
export interface AutoscalerIntents {
  /** The settings last declared for the service, if any. */
  intended(service: string): { minContainers?: number } | undefined;
  /** Declares what the service should have now; failed updates are the actuator's to retry. */
  apply(service: string, settings: { minContainers: number }): Promise<unknown>;
}

/** Where a decision's second look at demand goes: the LRS server (lrs/lrs-server.ts). */
export interface LoadReportRequests {
  /** Asks every connected Envoy for its next load report `afterMs` from now. */
  followUp(service: string, afterMs: number): void;
}

export interface ServiceCapacityConfig {
  service: string;
  policy: CapacityPolicy;
}

export interface CapacityControllerOptions {
  clock: Clock;
  scheduler: Scheduler;
  logger?: Logger;
  services: readonly ServiceCapacityConfig[];
  /** Current inputs for a service; undefined skips the service this tick (nothing known yet). */
  readInputs: (service: string) => ControllerInputs | undefined;
  /** Called with the first decision and then whenever the plan changes. */
  onDecision: (service: string, decision: Decision) => void;
  /** Called after every decision, changed or not (the controller's memory moved on). */
  onDecided?: (service: string, decision: Decision) => void;
  autoscaler?: AutoscalerIntents;
  loadReports?: LoadReportRequests;
  tickMs?: number;
}

export class CapacityController {
  private readonly tickMs: number;
  private readonly log: Logger;
  private readonly decisions = new Map<string, Decision>();
  /** When the controller last stood behind each service's decision (its last tick with inputs). */
  private readonly asOf = new Map<string, number>();
  private cancel: Cancel | undefined;
  private nudgePending: Cancel | undefined;

  constructor(private readonly opts: CapacityControllerOptions) {
    this.tickMs = opts.tickMs ?? 1_000;
    this.log = (opts.logger ?? silentLogger).child({ component: 'capacity' });
  }

  start(): void {
    if (this.cancel) return;
    this.cancel = every(this.opts.scheduler, this.tickMs, () => this.tick());
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
    this.nudgePending?.();
    this.nudgePending = undefined;
  }

  current(service: string): Decision | undefined {
    return this.decisions.get(service);
  }

  /** The controller's memory of a service and the last time it stood behind it (what a restart resumes from). */
  memory(service: string): { decision: Decision; asOfMs: number } | undefined {
    const decision = this.decisions.get(service);
    const asOfMs = this.asOf.get(service);
    return decision && asOfMs !== undefined ? { decision, asOfMs } : undefined;
  }

  /**
   * Resumes from memory saved before a restart: the decision becomes the `previous` of the next
   * decide(). Its plan is taken as already published, so a restored plan is not pushed again.
   */
  seed(service: string, decision: Decision, asOfMs: number): void {
    if (!this.opts.services.some((s) => s.service === service)) throw new Error(`capacity: unknown service '${service}'`);
    this.decisions.set(service, { ...decision, changed: false });
    this.asOf.set(service, asOfMs);
  }

  /** Forgets every service's memory (a replica that stops leading: the next leader's memory is in etcd). */
  forget(): void {
    this.decisions.clear();
    this.asOf.clear();
  }

  /**
   * A new input arrived (a Modal sample, an LRS report): decide soon instead of waiting up to a whole
   * tick. Coalesced, so a burst of inputs costs one extra decision. Only the default policy reacts:
   * it is dt-aware, while the seed policy is defined per poll tick and keeps that cadence.
   */
  nudge(): void {
    // Stopped (or, on a replica, not leading): inputs arriving decide nothing.
    if (this.nudgePending || !this.cancel) return;
    this.nudgePending = this.opts.scheduler.after(NUDGE_DELAY_MS, () => {
      this.nudgePending = undefined;
      this.tick((svc) => svc.policy.name === PolicyName.Default);
    });
  }

  /** One pass over every service (or those selected); public so an integration layer can force a tick. */
  tick(select: (svc: ServiceCapacityConfig) => boolean = () => true): void {
    for (const svc of this.opts.services) {
      if (!select(svc)) continue;
      try {
        this.tickService(svc);
      } catch (err) {
        // One service's bad input must not stall the others.
        this.log.error({ service: svc.service, err: errorMessage(err) }, 'capacity tick failed');
      }
    }
  }

  private tickService(svc: ServiceCapacityConfig): void {
    const inputs = this.opts.readInputs(svc.service);
    if (!inputs) return;
    const now = this.opts.clock.nowMs();
    const prev = this.decisions.get(svc.service);
    const decision = decide(prev, inputs, now, svc.policy);
    this.decisions.set(svc.service, decision);
    this.asOf.set(svc.service, now);
    if (!prev || decision.changed) {
      this.log.info({ service: svc.service, mode: decision.mode, plan: decision.plan, reason: decision.reason }, 'capacity decision');
      this.opts.onDecision(svc.service, decision);
    }
    this.opts.onDecided?.(svc.service, decision);
    this.stateAutoscalerIntent(svc.service, decision);
    if (decision.loadFollowUp && this.opts.loadReports) {
      this.log.debug({ service: svc.service, reason: decision.loadFollowUp.reason }, 'load report follow-up');
      this.opts.loadReports.followUp(svc.service, decision.loadFollowUp.afterMs);
    }
  }

  private stateAutoscalerIntent(service: string, decision: Decision): void {
    const autoscaler = this.opts.autoscaler;
    const want = decision.autoscaler;
    if (!autoscaler || !want) return;
    // Until pre-warm first raises it, Modal's deployed settings are left alone.
    const raised = decision.state.kind === 'default' && decision.state.prewarmRaisedAtMs !== null;
    const declared = autoscaler.intended(service)?.minContainers;
    if (!raised && declared === undefined) return;
    if (declared !== want.minContainers)
      this.log.info({ service, minContainers: want.minContainers, reason: want.reason }, 'autoscaler intent');
    autoscaler.apply(service, { minContainers: want.minContainers }).catch((err: unknown) => {
      this.log.warn({ service, err: errorMessage(err) }, 'autoscaler intent not accepted');
    });
  }
}
