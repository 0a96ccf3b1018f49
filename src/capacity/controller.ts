// The loop around the pure model: every tick, per service, read inputs → decide() → publish on
// change, and reconcile Modal's min_containers with what pre-warm wants. Clock and scheduler are
// injected, so tests drive it in virtual time.
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { every, type Cancel, type Scheduler } from '../core/scheduler.js';
import { decide } from './decide.js';
import type { CapacityPolicy } from './policy-config.js';
import type { AutoscalerSettings, ControllerInputs, Decision } from './types.js';

/** What the controller asks Modal's autoscaler for (the Modal side owns the real implementation). */
/** How long a nudge waits, so inputs arriving together (poll + LRS) make one decision. */
const NUDGE_DELAY_MS = 20;

export interface AutoscalerUpdate {
  service: string;
  minContainers: number;
}

/** Applies autoscaler settings (Modal `update_autoscaler`); resolves with the settings read back. */
export interface AutoscalerActuator {
  apply(update: AutoscalerUpdate): Promise<AutoscalerSettings>;
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
  actuator?: AutoscalerActuator;
  tickMs?: number;
  /** Minimum spacing between autoscaler updates for one service (Modal rate limits them). */
  actuatorMinIntervalMs?: number;
}

interface ActuatorTrack {
  /** Settings Modal last confirmed (from our apply or from a readback), and when. */
  known?: { minContainers: number; atMs: number };
  lastAttemptAtMs?: number;
  inFlight: boolean;
}

export class CapacityController {
  private readonly tickMs: number;
  private readonly minIntervalMs: number;
  private readonly log: Logger;
  private readonly decisions = new Map<string, Decision>();
  private readonly actuation = new Map<string, ActuatorTrack>();
  private cancel: Cancel | undefined;
  private nudgePending: Cancel | undefined;

  constructor(private readonly opts: CapacityControllerOptions) {
    this.tickMs = opts.tickMs ?? 1_000;
    this.minIntervalMs = opts.actuatorMinIntervalMs ?? 10_000;
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

  /**
   * A new input arrived (a Modal sample, an LRS report): decide soon instead of waiting up to a whole
   * tick. Coalesced, so a burst of inputs costs one extra decision. Only the default policy reacts:
   * it is dt-aware, while the seed policy is defined per poll tick and keeps that cadence.
   */
  nudge(): void {
    if (this.nudgePending) return;
    this.nudgePending = this.opts.scheduler.after(NUDGE_DELAY_MS, () => {
      this.nudgePending = undefined;
      this.tick((svc) => svc.policy.policy === 'default');
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
    if (!prev || decision.changed) {
      this.log.info(
        { service: svc.service, mode: decision.mode, plan: decision.plan, reason: decision.reason },
        'capacity decision',
      );
      this.opts.onDecision(svc.service, decision);
    }
    this.reconcileAutoscaler(svc.service, decision, inputs, now);
  }

  private reconcileAutoscaler(service: string, decision: Decision, inputs: ControllerInputs, now: number): void {
    const actuator = this.opts.actuator;
    const want = decision.autoscaler;
    if (!actuator || !want) return;
    const track = this.actuation.get(service) ?? { inFlight: false };
    this.actuation.set(service, track);
    // A readback newer than our last apply wins: that is how a deploy's reset is noticed.
    const seen = inputs.modalAutoscaler;
    if (seen && (!track.known || seen.observedAtMs > track.known.atMs)) {
      track.known = { minContainers: seen.minContainers, atMs: seen.observedAtMs };
    }
    // Nothing known and nothing beyond the base wanted: leave Modal's deployed settings alone.
    if (!track.known && decision.state.kind === 'default' && decision.state.prewarmRaisedAtMs === null) return;
    if (track.known?.minContainers === want.minContainers || track.inFlight) return;
    if (track.lastAttemptAtMs !== undefined && now - track.lastAttemptAtMs < this.minIntervalMs) return;
    track.inFlight = true;
    track.lastAttemptAtMs = now;
    const reapply = track.known !== undefined && seen !== undefined && track.known.atMs === seen.observedAtMs;
    this.log.info({ service, minContainers: want.minContainers, reapply, reason: want.reason }, 'autoscaler update');
    actuator
      .apply({ service, minContainers: want.minContainers })
      .then((settings) => {
        track.known = { minContainers: settings.minContainers, atMs: this.opts.clock.nowMs() };
      })
      .catch((err: unknown) => {
        this.log.warn({ service, err: errorMessage(err) }, 'autoscaler update failed; will retry');
      })
      .finally(() => {
        track.inFlight = false;
      });
  }
}

/** An in-memory actuator for tests and the simulator: records calls, can fail, can be "reset by a deploy". */
export class FakeAutoscalerActuator implements AutoscalerActuator {
  readonly calls: AutoscalerUpdate[] = [];
  readonly settings = new Map<string, AutoscalerSettings>();
  failNext = 0;

  async apply(update: AutoscalerUpdate): Promise<AutoscalerSettings> {
    this.calls.push(update);
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('update_autoscaler failed');
    }
    const s = { ...this.settings.get(update.service), minContainers: update.minContainers };
    this.settings.set(update.service, s);
    return s;
  }

  /** Simulates `modal deploy` wiping update_autoscaler overrides. */
  resetByDeploy(service: string, base = 0): void {
    this.settings.set(service, { minContainers: base });
  }
}
