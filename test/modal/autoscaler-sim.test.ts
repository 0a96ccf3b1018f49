// The fake's simulated Modal autoscaler, in virtual time.
import { describe, expect, it } from 'vitest';
import { AutoscalerSim, billedSeconds, type FunctionSimConfig, type InputOutcome } from '../../tools/fake-modal/autoscaler-sim.js';
import { VirtualTime } from '../support/virtual-time.js';

const base: FunctionSimConfig = {
  mode: 'function',
  maxInputs: 2,
  targetInputs: 1,
  minContainers: 0,
  maxContainers: 3,
  bufferContainers: 0,
  scaledownWindowMs: 10_000,
  coldStartMs: 2_000,
};

function setup(overrides: Partial<FunctionSimConfig> = {}): { vt: VirtualTime; sim: AutoscalerSim } {
  const vt = new VirtualTime(0);
  return { vt, sim: new AutoscalerSim({ ...base, ...overrides }, vt, vt) };
}

function track(p: Promise<InputOutcome>): { value?: InputOutcome } {
  const box: { value?: InputOutcome } = {};
  void p.then((v) => (box.value = v));
  return box;
}

describe('AutoscalerSim', () => {
  it('cold-starts a container for the first input, which waits in the backlog meanwhile', async () => {
    const { vt, sim } = setup();
    const out = track(sim.submit({ serviceMs: 500 }).done);
    expect(sim.stats()).toEqual({ backlog: 1, runners: 1, runningInputs: 0, inputHeadroom: 0 });
    await vt.advance(1_999);
    expect(out.value).toBeUndefined();
    await vt.advance(1);
    expect(sim.stats()).toEqual({ backlog: 0, runners: 1, runningInputs: 1, inputHeadroom: 1 });
    await vt.advance(500);
    expect(out.value).toMatchObject({ kind: 'done', containerId: 'ta-1', enqueuedAtMs: 0, startedAtMs: 2_000, finishedAtMs: 2_500 });
    expect(sim.stats()).toEqual({ backlog: 0, runners: 1, runningInputs: 0, inputHeadroom: 2 });
  });

  it('scales up to max_containers under load, bursts to max_inputs, then queues', async () => {
    const { vt, sim } = setup();
    const outs = Array.from({ length: 8 }, () => track(sim.submit({ serviceMs: 10_000 }).done));
    // Demand 8 at target 1 would want 8 containers: capped at 3.
    expect(sim.stats().runners).toBe(3);
    await vt.advance(2_000);
    // 3 live containers x max_inputs 2 = 6 running; 2 wait.
    expect(sim.stats()).toEqual({ backlog: 2, runners: 3, runningInputs: 6, inputHeadroom: 0 });
    expect(sim.containerViews().every((c) => c.running === 2)).toBe(true);
    await vt.advance(10_000);
    expect(outs.filter((o) => o.value?.kind === 'done')).toHaveLength(6);
    expect(sim.stats()).toEqual({ backlog: 0, runners: 3, runningInputs: 2, inputHeadroom: 4 });
  });

  it('answers 503 in HTTP-server mode with no live replica, and still scales up', async () => {
    const { vt, sim } = setup({ mode: 'http-server' });
    const first = track(sim.submit({ serviceMs: 100 }).done);
    await vt.advance(0);
    expect(first.value).toMatchObject({ kind: 'rejected', reason: 'no-live-replica' });
    expect(sim.stats().runners).toBe(1);
    await vt.advance(2_000);
    const second = track(sim.submit({ serviceMs: 100 }).done);
    await vt.advance(100);
    expect(second.value).toMatchObject({ kind: 'done', containerId: 'ta-1' });
  });

  it('scales down once a container has been idle for scaledown_window, never below min_containers', async () => {
    const { vt, sim } = setup({ minContainers: 1 });
    await vt.advance(2_000);
    const ins = [1, 2, 3].map(() => track(sim.submit({ serviceMs: 1_000 }).done));
    expect(sim.stats().runners).toBe(3);
    // Two inputs burst onto the warm container (2-3 s), the third follows on it (3-4 s); the two new
    // containers are live at 4 s. Everything is idle from 4 s, so the window ends at 14 s.
    await vt.advance(2_000);
    expect(ins.every((o) => o.value?.kind === 'done')).toBe(true);
    expect(sim.stats().runners).toBe(3);
    await vt.advance(9_999);
    expect(sim.stats().runners).toBe(3);
    await vt.advance(1);
    expect(sim.stats().runners).toBe(1);
    await vt.advance(60_000);
    expect(sim.stats().runners).toBe(1);
  });

  it('keeps buffer_containers idle only while the function is active', async () => {
    const { vt, sim } = setup({ bufferContainers: 1, maxContainers: 5 });
    const out = track(sim.submit({ serviceMs: 3_000 }).done);
    expect(sim.stats().runners).toBe(2);
    await vt.advance(5_000);
    expect(out.value?.kind).toBe('done');
    await vt.advance(10_000);
    expect(sim.stats().runners).toBe(0);
  });

  it('applies update_autoscaler at once and keeps unset fields', async () => {
    const { vt, sim } = setup();
    expect(sim.updateSettings({ minContainers: 2 })).toEqual({
      minContainers: 2,
      maxContainers: 3,
      bufferContainers: 0,
      scaledownWindowMs: 10_000,
    });
    expect(sim.stats().runners).toBe(2);
    await vt.advance(2_000);
    expect(sim.stats().inputHeadroom).toBe(4);
    sim.updateSettings({ minContainers: 0 });
    await vt.advance(9_999);
    expect(sim.stats().runners).toBe(2);
    await vt.advance(1);
    expect(sim.stats().runners).toBe(0);
  });

  it('routes Modal-Session-Id by rendezvous hashing: sessions spread, stick, and only move when their container comes or goes', async () => {
    const { vt, sim } = setup({ minContainers: 4, maxContainers: 6, maxInputs: 100, targetInputs: 100, scaledownWindowMs: 1_000 });
    await vt.advance(2_000);
    const sessions = Array.from({ length: 200 }, (_, i) => `session-${i}`);
    /** Where each session lands: three rounds, every session once per round, 20 in flight at a time. */
    const placeAll = async (): Promise<Map<string, Set<string>>> => {
      const seen = new Map(sessions.map((s) => [s, new Set<string>()]));
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < sessions.length; i += 20) {
          const batch = sessions.slice(i, i + 20).map((s) => ({ s, out: track(sim.submit({ serviceMs: 5, sessionId: s }).done) }));
          await vt.advance(5);
          for (const { s, out } of batch) if (out.value?.kind === 'done') seen.get(s)!.add(out.value.containerId);
        }
      }
      return seen;
    };
    const only = (seen: Map<string, Set<string>>): Map<string, string> => {
      for (const [s, c] of seen) expect(c.size, `${s} saw ${[...c].join(', ')}`).toBe(1);
      return new Map([...seen].map(([s, c]) => [s, [...c][0]!]));
    };
    const before = only(await placeAll());
    const perContainer = new Map<string, number>();
    for (const c of before.values()) perContainer.set(c, (perContainer.get(c) ?? 0) + 1);
    // 200 sessions over 4 containers: 50 each expected; a router that ignores the key puts them on one.
    expect([...perContainer.values()].sort((a, b) => a - b)[0]).toBeGreaterThanOrEqual(25);
    expect(perContainer.size).toBe(4);

    // A fifth container: only sessions that now favour it move (about one in five), all to it.
    sim.updateSettings({ minContainers: 5 });
    await vt.advance(2_000);
    const grown = only(await placeAll());
    const newcomer = sim.containerViews().find((c) => ![...perContainer.keys()].includes(c.id))!.id;
    const moved = sessions.filter((s) => grown.get(s) !== before.get(s));
    expect(moved.every((s) => grown.get(s) === newcomer)).toBe(true);
    expect(moved.length).toBeGreaterThan(15);
    expect(moved.length).toBeLessThan(70);

    // Back to four: the sessions of the container that left spread over the others; nobody else moves.
    sim.updateSettings({ minContainers: 4 });
    await vt.advance(1_500);
    const gone = [...new Set(grown.values())].find((c) => !sim.containerViews().some((v) => v.id === c))!;
    const shrunk = only(await placeAll());
    for (const s of sessions) if (grown.get(s) !== gone) expect(shrunk.get(s)).toBe(grown.get(s));
  });

  it('cancels an input whose client went away: its slot frees and its time stops counting', async () => {
    const { vt, sim } = setup({ minContainers: 1 });
    await vt.advance(2_000);
    const ticket = sim.submit({ serviceMs: 60_000 });
    const out = track(ticket.done);
    await vt.advance(1_000);
    expect(sim.stats().runningInputs).toBe(1);
    expect(sim.cancel(ticket.id)).toBe(true);
    await vt.advance(0);
    expect(out.value).toMatchObject({ kind: 'cancelled' });
    expect(sim.stats().runningInputs).toBe(0);
    await vt.advance(30_000);
    expect(sim.billing()).toMatchObject({ inputMs: 1_000, cancelledInputs: 1 });
    expect(sim.cancel(ticket.id)).toBe(false);
  });

  it('accounts container-seconds exactly for a known schedule', async () => {
    const { vt, sim } = setup();
    // t=0: an input of 5.3 s starts container A (live at 2 s, busy until 7.3 s).
    void sim.submit({ serviceMs: 5_300 }).done;
    await vt.advance(3_000);
    // t=3 s: a second input bursts onto A (max_inputs 2) while the autoscaler starts B for target 1.
    const second = track(sim.submit({ serviceMs: 2_500 }).done);
    expect(sim.stats()).toMatchObject({ runners: 2, runningInputs: 2, backlog: 0 });
    await vt.advance(60_000);
    expect(second.value).toMatchObject({ kind: 'done', containerId: 'ta-1' });
    // B: started 3 s, idle from 5 s, stopped at 15 s: 12 s. A: idle from 7.3 s, stopped at 17.3 s: 17.3 s -> 18.
    expect(sim.stats().runners).toBe(0);
    expect(sim.billing()).toEqual({
      containerMs: 12_000 + 17_300,
      containerSeconds: 12 + 18,
      containersStarted: 2,
      containersStopped: 2,
      inputMs: 5_300 + 2_500,
      cancelledInputs: 0,
    });
    expect(billedSeconds(1)).toBe(1);
    expect(billedSeconds(1000)).toBe(1);
    expect(billedSeconds(1001)).toBe(2);
  });
});
