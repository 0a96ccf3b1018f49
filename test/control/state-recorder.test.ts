// The recorder in virtual time: changes are saved soon, coalesced to a few writes a second, and a
// failed save is reported and retried.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.js';
import { decodeOperatingState, emptyOperatingState, type OperatingState } from '../../src/control/operating-state.js';
import { captureOperatingState, StateRecorder, type StateSources } from '../../src/control/state-recorder.js';
import type { StateStore } from '../../src/control/state-store.js';
import type { ServiceConfig } from '../../src/config/config-types.js';
import { planForShare } from '../../src/model/traffic-plan.js';
import { configFrom, FREE_PORTS } from '../../tools/config-fixtures.js';
import { VirtualTime } from '../support/virtual-time.js';

class MemoryStore implements StateStore {
  readonly location = 'memory://state';
  saves: Array<{ atMs: number; doc: string }> = [];
  failing = false;
  constructor(private readonly vt: VirtualTime) {}
  async load(): Promise<string | undefined> {
    return this.saves.at(-1)?.doc;
  }
  async save(doc: string): Promise<void> {
    if (this.failing) throw new Error('disk full');
    this.saves.push({ atMs: this.vt.nowMs(), doc });
  }
  last(): OperatingState {
    const r = decodeOperatingState(this.saves.at(-1)!.doc);
    if (!r.ok) throw new Error(r.error);
    return r.state;
  }
}

function setup(opts: { minIntervalMs?: number } = {}) {
  const vt = new VirtualTime();
  const store = new MemoryStore(vt);
  let share = 0;
  const capture = (previous: OperatingState | undefined, nowMs: number): OperatingState => {
    const s = emptyOperatingState(nowMs);
    s.services['echo'] = { cordons: {}, plan: { plan: planForShare(share), source: 'OVERRIDE', sinceMs: nowMs } };
    void previous;
    return s;
  };
  let logText = '';
  const logger = createLogger({
    level: 'debug',
    destination: new Writable({
      write(c: Buffer, _e, cb) {
        logText += c.toString();
        cb();
      },
    }),
  });
  const rec = new StateRecorder({ store, capture, clock: vt, scheduler: vt, logger, retryAfterMs: 2_000, ...opts });
  return { vt, store, rec, setShare: (s: number) => (share = s), log: () => logText };
}

describe('StateRecorder', () => {
  it('saves a change at once, then coalesces a burst into at most one save per interval, ending on the latest state', async () => {
    const { vt, store, rec, setShare } = setup({ minIntervalMs: 250 });
    setShare(0.1);
    rec.changed();
    await vt.advance(0);
    expect(store.saves).toHaveLength(1);
    // 100 changes in one second (a controller ticking every 10 ms).
    for (let i = 1; i <= 100; i++) {
      setShare(i / 200);
      rec.changed();
      await vt.advance(10);
    }
    await vt.advance(500);
    expect(store.saves.length).toBeLessThanOrEqual(1 + 5);
    const gaps = store.saves.slice(1).map((s, i) => s.atMs - store.saves[i]!.atMs);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(250);
    expect(store.last().services['echo']!.plan!.plan).toEqual(planForShare(0.5));
    // Nothing changed since: nothing more is written.
    const n = store.saves.length;
    await vt.advance(5_000);
    expect(store.saves).toHaveLength(n);
  });

  it('reports a failed save naming where, retries it, and says when saving works again', async () => {
    const { vt, store, rec, setShare, log } = setup();
    store.failing = true;
    setShare(0.2);
    rec.changed();
    await vt.advance(100);
    expect(rec.stats.failures).toBe(1);
    expect(log()).toMatch(/"file":"memory:\/\/state".*cannot save the operating state/);
    store.failing = false;
    await vt.advance(2_000);
    expect(store.saves).toHaveLength(1);
    expect(store.last().services['echo']!.plan!.plan).toEqual(planForShare(0.2));
    expect(log()).toMatch(/operating state saved again/);
  });

  it('close() writes what is pending at once', async () => {
    const { vt, store, rec, setShare } = setup({ minIntervalMs: 10_000 });
    rec.changed();
    await vt.advance(0);
    setShare(0.4);
    rec.changed();
    await rec.close();
    expect(store.saves).toHaveLength(2);
    expect(store.last().services['echo']!.plan!.plan).toEqual(planForShare(0.4));
    rec.changed();
    await vt.advance(20_000);
    expect(store.saves).toHaveLength(2);
  });
});

describe('captureOperatingState', () => {
  const services: ServiceConfig[] = configFrom({
    ...FREE_PORTS,
    services: [
      {
        name: 'echo',
        listener: '127.0.0.1:20001',
        in_house: { endpoints: [{ address: '10.0.0.1', port: 80, capacity: 4 }] },
        modal: { url: 'https://ws--echo.modal.run', app: 'a', function: 'f', max_containers: 2 },
        capacity: { policy: 'static' },
      },
    ],
  }).services;

  it('keeps the since-times of what did not change, and stamps what did', () => {
    const cordons = new Map<string, 'DRAINING' | 'DEGRADED'>([['10.0.0.1:80', 'DRAINING']]);
    let ips = ['192.0.2.1'];
    const src: StateSources = {
      services: () => services,
      assignedPlan: () => planForShare(0.3),
      planSource: () => 'OVERRIDE',
      cordonsOf: () => cordons,
      override: () => ({ service: 'echo', share: 0.3, reason: 'r', setAtMs: 1, expiresAtMs: 9e12 }),
      controllerMemory: () => undefined,
      modalAddresses: () => ips,
    };
    const a = captureOperatingState(src, undefined, 1000);
    const b = captureOperatingState(src, a, 2000);
    expect(b.services['echo']!.cordons['10.0.0.1:80']!.sinceMs).toBe(1000);
    expect(b.services['echo']!.plan!.sinceMs).toBe(1000);
    expect(b.services['echo']!.modalAddress).toEqual({ hostname: 'ws--echo.modal.run', ips: ['192.0.2.1'], sinceMs: 1000 });
    cordons.set('10.0.0.1:80', 'DEGRADED');
    ips = ['192.0.2.1', '192.0.2.2'];
    const c = captureOperatingState(src, b, 3000);
    expect(c.services['echo']!.cordons['10.0.0.1:80']).toEqual({ state: 'DEGRADED', sinceMs: 3000 });
    expect(c.services['echo']!.modalAddress!.sinceMs).toBe(3000);
    expect(c.savedAtMs).toBe(3000);
  });
});
