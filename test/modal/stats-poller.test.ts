// The stats poller in virtual time, over a scripted function handle.
import { describe, expect, it } from 'vitest';
import type { ModalStatsSample } from '../../src/model/inputs.js';
import { backoffCeilingMs, fullJitterDelayMs } from '../../src/modal/backoff.js';
import { ModalStatsPoller } from '../../src/modal/stats-poller.js';
import { toModalStatsSample } from '../../src/modal/stats-mapping.js';
import type { ModalFunctionHandle, RawFunctionStats } from '../../src/modal/types.js';
import { VirtualTime } from '../support/virtual-time.js';

type Step = RawFunctionStats | Error | 'hang';

/** A handle whose successive stats calls follow a script; the last step repeats. */
function scripted(steps: Step[]): ModalFunctionHandle & { calls: number; aborted: number } {
  const h = {
    ref: { service: 'shop', appName: 'shop-app', functionName: 'web' },
    functionId: 'fu-1',
    calls: 0,
    aborted: 0,
    currentStats(signal: AbortSignal): Promise<RawFunctionStats> {
      const step = steps[Math.min(h.calls++, steps.length - 1)] as Step;
      if (step === 'hang') {
        return new Promise((_, reject) =>
          signal.addEventListener('abort', () => {
            h.aborted++;
            reject(new Error('aborted'));
          }),
        );
      }
      return step instanceof Error ? Promise.reject(step) : Promise.resolve(step);
    },
    updateAutoscaler: () => Promise.resolve({}),
  };
  return h;
}

const good: RawFunctionStats = { backlog: 2, numTotalRunners: 3, numRunningInputs: 5, inputHeadroom: 1 };

function poller(handle: ModalFunctionHandle, vt: VirtualTime, random: () => number = () => 0.5): ModalStatsPoller {
  return new ModalStatsPoller({
    handles: [handle],
    clock: vt,
    scheduler: vt,
    intervalMs: 2_000,
    timeoutMs: 1_000,
    backoff: { baseMs: 1_000, maxMs: 8_000 },
    random,
  });
}

describe('ModalStatsPoller', () => {
  it('polls on the interval and stamps each sample with when it was observed', async () => {
    const vt = new VirtualTime(1_000);
    const p = poller(scripted([good]), vt);
    const samples: ModalStatsSample[] = [];
    p.onSample((s) => samples.push(s));
    p.start();
    await vt.advance(4_000);
    p.stop();
    expect(samples.map((s) => s.observedAtMs)).toEqual([1_000, 3_000, 5_000]);
    expect(samples[0]).toEqual({
      service: 'shop',
      runners: 3,
      backlog: 2,
      runningInputs: 5,
      inputHeadroom: 1,
      observedAtMs: 1_000,
    });
    await vt.advance(500);
    expect(p.status('shop')?.ageMs).toBe(500);
  });

  it('counts failures and grows the jittered backoff, then resets on recovery', async () => {
    const vt = new VirtualTime(0);
    const fail = new Error('UNAVAILABLE');
    const handle = scripted([good, fail, fail, fail, fail, fail, good]);
    const draws = [0.5, 0.25, 1, 0.75, 0.5];
    let i = 0;
    const p = poller(handle, vt, () => draws[i++] ?? 0);
    const seen: { failures: number; delay?: number; ceiling: number }[] = [];
    p.onStatus(() => {
      const s = p.status('shop');
      if (s)
        seen.push({
          failures: s.consecutiveFailures,
          ...(s.nextDelayMs !== undefined ? { delay: s.nextDelayMs } : {}),
          ceiling: s.backoffCeilingMs,
        });
    });
    p.start();
    await vt.advance(30_000);
    p.stop();
    expect(seen.slice(0, 7)).toEqual([
      { failures: 0, delay: 2_000, ceiling: 0 },
      { failures: 1, delay: 500, ceiling: 1_000 }, // 0.5 x 1 s
      { failures: 2, delay: 500, ceiling: 2_000 }, // 0.25 x 2 s
      { failures: 3, delay: 4_000, ceiling: 4_000 }, // 1 x 4 s
      { failures: 4, delay: 6_000, ceiling: 8_000 }, // 0.75 x 8 s
      { failures: 5, delay: 4_000, ceiling: 8_000 }, // capped at max
      { failures: 0, delay: 2_000, ceiling: 0 },
    ]);
    expect(p.status('shop')?.lastError).toBeUndefined();
  });

  it('cuts a hung call at the timeout, aborts it and counts a failure', async () => {
    const vt = new VirtualTime(0);
    const handle = scripted(['hang', good]);
    const p = poller(handle, vt);
    p.start();
    await vt.advance(999);
    expect(p.status('shop')?.consecutiveFailures).toBe(0);
    await vt.advance(1);
    expect(p.status('shop')).toMatchObject({
      consecutiveFailures: 1,
      lastError: 'Modal stats call timed out after 1000 ms',
      nextDelayMs: 500,
    });
    expect(handle.aborted).toBe(1);
    await vt.advance(500);
    expect(p.status('shop')?.consecutiveFailures).toBe(0);
    expect(p.status('shop')?.last?.runners).toBe(3);
    p.stop();
  });

  it('keeps the last good sample through failures', async () => {
    const vt = new VirtualTime(0);
    const p = poller(scripted([good, new Error('boom')]), vt);
    p.start();
    await vt.advance(2_000);
    p.stop();
    expect(p.status('shop')).toMatchObject({ consecutiveFailures: 1, lastError: 'boom', last: { runners: 3, observedAtMs: 0 } });
  });

  it('stops polling when stopped', async () => {
    const vt = new VirtualTime(0);
    const handle = scripted([good]);
    const p = poller(handle, vt);
    p.start();
    await vt.advance(0);
    p.stop();
    await vt.advance(10_000);
    expect(handle.calls).toBe(1);
    expect(vt.pending()).toBe(0);
  });
});

describe('stats mapping', () => {
  it('treats running inputs and headroom as absent when the reply lacks them', () => {
    expect(toModalStatsSample('s', { backlog: 1, numTotalRunners: 2 }, 5)).toEqual({
      service: 's',
      runners: 2,
      backlog: 1,
      observedAtMs: 5,
    });
    // Live runners with neither running inputs nor headroom: a server that leaves both fields unset.
    const unfilled = toModalStatsSample('s', { backlog: 0, numTotalRunners: 2, numRunningInputs: 0, inputHeadroom: 0 }, 5);
    expect(unfilled.runningInputs).toBeUndefined();
    expect(unfilled.inputHeadroom).toBeUndefined();
    // With no runners, zeros are the truth.
    const idle = toModalStatsSample('s', { backlog: 0, numTotalRunners: 0, numRunningInputs: 0, inputHeadroom: 0 }, 5);
    expect(idle).toMatchObject({ runningInputs: 0, inputHeadroom: 0 });
  });

  it('full-jitter delays stay inside a ceiling that doubles up to the max', () => {
    const policy = { baseMs: 100, maxMs: 1_000 };
    expect([1, 2, 3, 4, 5, 1_000].map((n) => backoffCeilingMs(n, policy))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    for (let n = 1; n < 8; n++) {
      const d = fullJitterDelayMs(n, policy, Math.random);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(backoffCeilingMs(n, policy));
    }
  });
});
