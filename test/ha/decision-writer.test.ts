// The leader's decision writer against a real etcd, in virtual time: between plan changes the
// controller's memory waits for the memory interval, but a decision asking for a second look at
// demand goes out at once (the followers ask their own Envoys when they read it), and a later
// decision that does not ask does not erase an ask not yet written.
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/capacity/decide.js';
import type { Decision } from '../../src/capacity/types.js';
import { makePolicy } from '../../src/config/capacity-policy.js';
import { silentLogger } from '../../src/core/logger.js';
import { DecisionWriter } from '../../src/ha/decision-writer.js';
import { keys } from '../../src/ha/keys.js';
import { decodeController } from '../../src/ha/records.js';
import { waitFor } from '../../tools/wait-for.js';
import { inputs, T0 } from '../capacity/fixtures.js';
import { realEtcdGroup, standForLeader } from '../support/etcd-group.js';
import { VirtualTime } from '../support/virtual-time.js';

const FOLLOW_UP = { afterMs: 400, reason: 'load report rose' };
const noAsk = ({ loadFollowUp: _, ...d }: Decision): Decision => d;

describe('the decision writer (real etcd)', () => {
  const real = realEtcdGroup('/spillway/writer-test');
  const memory = async (service: string): Promise<Decision | undefined> => {
    const text = await real.group.get(keys.controller(service)).string();
    if (text === null) return undefined;
    const r = decodeController(text, service);
    if (!r.ok) throw new Error(r.error);
    return r.value.decision;
  };

  it('writes an ask for a second look at once, and keeps it when a later decision does not ask', async () => {
    const vt = new VirtualTime(T0);
    const service = 'svc';
    const writer = new DecisionWriter({
      group: real.group,
      fence: await standForLeader(real.group),
      replica: 'replica-1',
      memoryIntervalMs: 1_000,
      storedPlan: () => undefined,
      onFencedOut: (why) => {
        throw new Error(why);
      },
      clock: vt,
      scheduler: vt,
      logger: silentLogger,
    });
    const policy = makePolicy();
    const first = decide(undefined, inputs(T0, { offered: 50 }), T0, policy);
    writer.offer(service, first);
    await waitFor(async () => (await memory(service))?.atMs === first.atMs, 5_000, 'the first decision (a new plan)');

    // The same plan, no ask: the memory waits for the interval (virtual time does not move).
    const quiet = noAsk(decide(first, inputs(T0 + 100, { offered: 50 }), T0 + 100, policy));
    expect(quiet.plan).toEqual(first.plan);
    writer.offer(service, quiet);
    await new Promise((r) => setTimeout(r, 300));
    expect((await memory(service))?.atMs).toBe(first.atMs);

    // The same plan, asking for a second look: written now, ask and all.
    const asking: Decision = { ...quiet, atMs: T0 + 200, loadFollowUp: FOLLOW_UP };
    writer.offer(service, asking);
    // Offered while that write is on the wire: a decision that does not ask.
    const later: Decision = { ...quiet, atMs: T0 + 250 };
    writer.offer(service, later);
    await waitFor(async () => (await memory(service))?.atMs === T0 + 200, 5_000, 'the asking decision, at once');
    expect((await memory(service))?.loadFollowUp).toEqual(FOLLOW_UP);

    // A new plan on the wire, an ask queued behind it, then a decision without one before the ask
    // is written: the memory written next still asks.
    const spill: Decision = { ...quiet, atMs: T0 + 1_300, plan: { ...quiet.plan, modalWeight: quiet.plan.modalWeight + 100 } };
    expect(spill.plan).not.toEqual(first.plan);
    writer.offer(service, spill);
    writer.offer(service, { ...spill, atMs: T0 + 1_310, loadFollowUp: FOLLOW_UP });
    writer.offer(service, { ...spill, atMs: T0 + 1_320 });
    await waitFor(async () => (await memory(service))?.atMs === T0 + 1_320, 5_000, 'the last decision, with the ask');
    expect((await memory(service))?.loadFollowUp).toEqual(FOLLOW_UP);

    // The same, but the later decision comes after the ask's wait: the stale ask is dropped.
    const spill2: Decision = { ...spill, atMs: T0 + 2_000, plan: { ...spill.plan, modalWeight: spill.plan.modalWeight + 100 } };
    writer.offer(service, spill2);
    writer.offer(service, { ...spill2, atMs: T0 + 2_010, loadFollowUp: FOLLOW_UP });
    writer.offer(service, { ...spill2, atMs: T0 + 2_010 + FOLLOW_UP.afterMs });
    await waitFor(async () => (await memory(service))?.atMs === T0 + 2_000, 5_000, 'the new plan');
    await new Promise((r) => setTimeout(r, 300));
    // Not urgent without its ask: the memory waits for its interval (virtual time stands still).
    expect((await memory(service))?.atMs).toBe(T0 + 2_000);
    writer.close();
  });
});
