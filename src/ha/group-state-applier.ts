// Every replica publishes what the group's keys say: each change of the copy (mirror.ts) goes to the
// write side it belongs to — a plan and its decision to the plan router, the controller's memory to
// what admin shows (and its ask for a second look at demand to this replica's LRS server), a cordon to the publisher, an override to the plan router, the Modal address to
// the publisher, another replica's load to the fleet view. A value that does not decode, or that does
// not fit this replica's configuration, is logged and left out; what serves stays as it was.
import type { Decision } from '../capacity/types.js';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { PlanRouter } from '../control/plan-router.js';
import type { Publisher } from '../control/publisher.js';
import { endpointKey } from '../model/cordons.js';
import { decodeReplicaLoad, type FleetLoadView } from './fleet-load.js';
import { KeyFamily, parseKey, type ParsedKey } from './keys.js';
import { MirrorOrigin, type MirrorChange } from './mirror.js';
import { decodeController, decodeCordon, decodeModalAddress, decodeOverride, decodePlan, type Decoded } from './records.js';

export interface GroupStateTargets {
  /** This replica: its own shared load is not read back (its live reports are used directly). */
  self: string;
  publisher: Publisher;
  router: PlanRouter;
  load: FleetLoadView;
  clock: Clock;
  logger: Logger;
  /** A plan from the group was published here (app.onDecision). */
  onDecision: (service: string, decision: Decision) => void;
  /** The leader's decision asks for a second look at demand: this replica asks its own Envoys. */
  onLoadFollowUp: (service: string, afterMs: number) => void;
}

export class GroupStateApplier {
  private readonly log: Logger;

  constructor(private readonly opts: GroupStateTargets) {
    this.log = opts.logger;
  }

  /** Applies one batch of the copy's changes (one etcd transaction, or a whole read). */
  apply(changes: readonly MirrorChange[], origin: MirrorOrigin): void {
    // Within a batch: what plans depend on first (addresses, cordons), overrides last.
    const order = (c: MirrorChange): number => {
      const f = parseKey(c.kind === 'put' ? c.entry.key : c.key)?.family;
      return f === KeyFamily.Overrides ? 2 : f === KeyFamily.Plans || f === KeyFamily.Controller ? 1 : 0;
    };
    for (const change of [...changes].sort((a, b) => order(a) - order(b))) {
      const key = change.kind === 'put' ? change.entry.key : change.key;
      const parsed = parseKey(key);
      if (!parsed) continue;
      try {
        this.applyOne(parsed, change, origin);
      } catch (err) {
        this.log.error({ key, error: errorMessage(err) }, 'cannot apply a group key');
      }
    }
  }

  private applyOne(k: ParsedKey, change: MirrorChange, origin: MirrorOrigin): void {
    const text = change.kind === 'put' ? change.entry.value : undefined;
    const [first = '', second = ''] = k.parts;
    switch (k.family) {
      case KeyFamily.Load: {
        if (first === this.opts.self) return;
        this.opts.load.setRemote(first, text === undefined ? undefined : this.decoded(decodeReplicaLoad(text), change), origin);
        return;
      }
      case KeyFamily.Plans: {
        const svc = this.opts.publisher.service(first);
        if (!svc || text === undefined) return;
        const rec = this.decoded(decodePlan(text, first), change);
        if (!rec) return;
        const decision: Decision = { ...rec.decision, plan: rec.plan };
        const r = this.opts.router.decision(first, decision);
        if (r && !r.ok)
          this.log.error(
            { service: first, errors: r.errors },
            'the group plan does not validate here; the last good snapshot keeps serving',
          );
        this.opts.onDecision(first, decision);
        return;
      }
      case KeyFamily.Controller: {
        if (!this.opts.publisher.service(first) || text === undefined) return;
        const rec = this.decoded(decodeController(text, first), change);
        if (!rec) return;
        this.opts.router.seedDecision(first, rec.decision);
        // The leader asked its own Envoys already. Only an ask the watch brings is fresh: memory read
        // whole (a restart, a lost watch) is history. Told by where it came from, not by its time,
        // which is the leader's clock: hosts' clocks differ by more than the ask's wait (400 ms).
        // A watch resuming after a break may bring an old ask too; its cost is one early report.
        const followUp = rec.decision.loadFollowUp;
        if (!followUp || rec.leader === this.opts.self) return;
        if (origin === MirrorOrigin.Watch) this.opts.onLoadFollowUp(first, followUp.afterMs);
        else
          this.log.debug({ service: first }, 'not asking for an early load report: the ask was read with the group state, not just made');
        return;
      }
      case KeyFamily.Cordons: {
        const svc = this.opts.publisher.service(first);
        // Static or discovered: whatever this replica serves now (a cordon on an endpoint not served here is inert).
        if (!svc || !this.opts.publisher.inHouseOf(first).some((e) => endpointKey(e.address, e.port) === second)) return;
        const rec = text === undefined ? undefined : this.decoded(decodeCordon(text), change);
        if (text !== undefined && !rec) return;
        const r = this.opts.publisher.setCordon(first, second, rec?.state);
        if (!r.ok) this.log.error({ service: first, endpoint: second, errors: r.errors }, 'the group cordon does not validate here');
        return;
      }
      case KeyFamily.Overrides: {
        if (!this.opts.publisher.service(first)) return;
        if (text === undefined) {
          this.opts.router.clear(first);
          return;
        }
        const rec = this.decoded(decodeOverride(text), change);
        if (!rec) return;
        if (rec.expiresAtMs <= this.opts.clock.nowMs()) {
          this.opts.router.clear(first);
          return;
        }
        const r = this.opts.router.adoptOverride({
          service: first,
          share: rec.share,
          reason: rec.reason,
          setAtMs: rec.setAtMs,
          expiresAtMs: rec.expiresAtMs,
        });
        if (!r.ok) this.log.error({ service: first, errors: r.errors }, 'the group override does not validate here');
        return;
      }
      case KeyFamily.ModalAddress: {
        const svc = this.opts.publisher.service(first);
        if (!svc?.modal || svc.modal.connectAddress || text === undefined) return;
        const rec = this.decoded(decodeModalAddress(text), change);
        if (rec && rec.hostname === svc.modal.hostname) this.opts.publisher.setModalAddresses(first, rec.addresses);
        return;
      }
      // Election, members, autoscaler: read from the copy when needed.
      default:
        return;
    }
  }

  private decoded<T>(d: Decoded<T>, change: MirrorChange): T | undefined {
    if (d.ok) return d.value;
    const key = change.kind === 'put' ? change.entry.key : change.key;
    this.log.error({ key, error: d.error }, 'ignoring a group key that does not decode');
    return undefined;
  }
}
