import { describe, expect, it } from 'vitest';
import { initialSourceState, nextSourceState, SourceHealth } from '../../src/discovery/source-state.js';

const hosts = [
  { address: '10.0.0.1', port: 80, capacity: 4 },
  { address: '10.0.0.2', port: 80, capacity: 4 },
];
const GRACE = 60_000;

describe('endpoint source grace rule', () => {
  const good = nextSourceState(initialSourceState('dns fleet:80'), { kind: 'answer', endpoints: hosts }, 1000, GRACE);

  it('a good answer replaces the set', () => {
    expect(good).toMatchObject({ health: SourceHealth.Ok, endpoints: hosts, lastGoodAtMs: 1000 });
    const one = nextSourceState(good, { kind: 'answer', endpoints: [hosts[0]!] }, 2000, GRACE);
    expect(one.endpoints).toEqual([hosts[0]]);
  });

  it('an empty answer keeps the last good set until the grace period ends, then empties the source', () => {
    const empty = nextSourceState(good, { kind: 'answer', endpoints: [] }, 2000, GRACE);
    expect(empty).toMatchObject({ health: SourceHealth.Stale, endpoints: hosts, badSinceMs: 2000, graceEndsAtMs: 62_000 });
    expect(empty.problem).toMatch(/empty answer while 2 endpoint\(s\) were there/);
    const still = nextSourceState(empty, { kind: 'answer', endpoints: [] }, 61_999, GRACE);
    expect(still).toMatchObject({ health: SourceHealth.Stale, endpoints: hosts, graceEndsAtMs: 62_000 });
    expect(nextSourceState(still, { kind: 'answer', endpoints: [] }, 62_000, GRACE)).toMatchObject({
      health: SourceHealth.Ok,
      endpoints: [],
    });
  });

  it('hosts coming back inside the grace period end it', () => {
    const empty = nextSourceState(good, { kind: 'answer', endpoints: [] }, 2000, GRACE);
    const back = nextSourceState(empty, { kind: 'answer', endpoints: hosts }, 3000, GRACE);
    expect(back).toEqual({ source: 'dns fleet:80', health: SourceHealth.Ok, endpoints: hosts, lastGoodAtMs: 3000 });
    // A later empty answer starts a new grace period.
    expect(nextSourceState(back, { kind: 'answer', endpoints: [] }, 100_000, GRACE).graceEndsAtMs).toBe(160_000);
  });

  it('a failure never empties the source, however long it lasts', () => {
    const failed = nextSourceState(good, { kind: 'failure', problem: 'A fleet: ESERVFAIL' }, 2000, GRACE);
    expect(failed).toMatchObject({ health: SourceHealth.Stale, endpoints: hosts, badSinceMs: 2000 });
    expect(failed.problem).toBe('A fleet: ESERVFAIL; keeping the last good 2 endpoint(s)');
    const later = nextSourceState(failed, { kind: 'failure', problem: 'A fleet: ETIMEOUT' }, 10 * GRACE, GRACE);
    expect(later).toMatchObject({ health: SourceHealth.Stale, endpoints: hosts, badSinceMs: 2000 });
  });

  it('an empty answer after a failure gets its own full grace period', () => {
    const failed = nextSourceState(good, { kind: 'failure', problem: 'timeout' }, 2000, GRACE);
    const empty = nextSourceState(failed, { kind: 'answer', endpoints: [] }, 500_000, GRACE);
    expect(empty).toMatchObject({ health: SourceHealth.Stale, endpoints: hosts, graceEndsAtMs: 560_000 });
  });

  it('stays pending until a first answer; an empty first answer is just empty', () => {
    const first = initialSourceState('file f.json');
    expect(nextSourceState(first, { kind: 'failure', problem: 'f.json: refused' }, 1, GRACE)).toMatchObject({
      health: SourceHealth.Pending,
      endpoints: [],
    });
    expect(nextSourceState(first, { kind: 'answer', endpoints: [] }, 1, GRACE)).toMatchObject({ health: SourceHealth.Ok, endpoints: [] });
  });
});
