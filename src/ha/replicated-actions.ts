// Operator actions on a replica: recorded in etcd (cordons/…, overrides/…), and applied by every
// replica — this one included — when its copy of the group state sees them, so a cordon or an
// override made through any replica takes effect on all. The call returns once this replica has
// applied it (or after a short wait, if its watch lags: the action is recorded either way). When
// etcd cannot be reached nothing is applied anywhere and the caller is told to try again.
import type { Namespace } from 'etcd3';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { ActionUnavailable, type CordonResult, type OperatorActions } from '../control/operator-actions.js';
import type { OverrideResult } from '../control/plan-router.js';
import type { CordonState } from '../model/cordons.js';
import type { Scheduler } from '../core/scheduler.js';
import { keys } from './keys.js';
import type { GroupMirror } from './mirror.js';
import { encodeRecord, type CordonRecord, type OverrideRecord } from './records.js';

export interface ReplicatedActionsOptions {
  group: Namespace;
  mirror: GroupMirror;
  replica: string;
  clock: Clock;
  scheduler: Scheduler;
  /** How long a call waits for this replica to apply what it recorded. */
  applyWaitMs?: number;
}

export class ReplicatedActions implements OperatorActions {
  constructor(private readonly opts: ReplicatedActionsOptions) {}

  async cordon(service: string, endpoint: string, state: CordonState | undefined, reason: string): Promise<CordonResult> {
    const key = keys.cordon(service, endpoint);
    const rev = await this.record('cordon', async () => {
      if (!state) return (await this.opts.group.delete().key(key)).header.revision;
      const rec: CordonRecord = { state, sinceMs: this.opts.clock.nowMs(), reason, by: this.opts.replica };
      return (await this.opts.group.put(key).value(encodeRecord(rec))).header.revision;
    });
    await this.applied(rev);
    return { ok: true };
  }

  async override(service: string, share: number, durationMs: number, reason: string): Promise<OverrideResult> {
    const now = this.opts.clock.nowMs();
    const rec: OverrideRecord = { share, reason, setAtMs: now, expiresAtMs: now + durationMs, by: this.opts.replica };
    const rev = await this.record(
      'override',
      async () => (await this.opts.group.put(keys.override(service)).value(encodeRecord(rec))).header.revision,
    );
    await this.applied(rev);
    return { ok: true, override: { service, share, reason, setAtMs: rec.setAtMs, expiresAtMs: rec.expiresAtMs } };
  }

  async clearOverride(service: string): Promise<boolean> {
    let deleted = false;
    const rev = await this.record('override removal', async () => {
      const res = await this.opts.group.delete().key(keys.override(service));
      deleted = Number(res.deleted) > 0;
      return res.header.revision;
    });
    await this.applied(rev);
    return deleted;
  }

  private async record(what: string, write: () => Promise<string>): Promise<bigint> {
    try {
      return BigInt(await write());
    } catch (err) {
      throw new ActionUnavailable(
        `etcd cannot be reached (${errorMessage(err)}): the ${what} was not recorded, so no replica applies it; try again`,
      );
    }
  }

  private async applied(rev: bigint): Promise<void> {
    let cancel = (): void => {};
    await Promise.race([
      this.opts.mirror.reached(rev),
      new Promise<void>((r) => (cancel = this.opts.scheduler.after(this.opts.applyWaitMs ?? 2_000, r))),
    ]);
    cancel();
  }
}
