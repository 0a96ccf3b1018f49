import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { bar, fmtAge, renderPlain, renderState, truncate } from '../../src/cli/render-watch.js';
import { runWatch } from '../../src/cli/watch.js';
import { planForShare } from '../../src/model/traffic-plan.js';
import { startAdminRig } from '../admin/harness.js';
import { waitFor } from '../../tools/wait-for.js';
import { service, state } from './fixtures.js';

describe('watch rendering (pure)', () => {
  it('bars fill in proportion with eighth-cell resolution and clamp', () => {
    expect(bar(0, 10)).toBe('··········');
    expect(bar(1, 10)).toBe('██████████');
    expect(bar(0.5, 10)).toBe('█████·····');
    expect(bar(0.05, 10)).toBe('▌·········'); // half a cell
    expect(bar(0.0125, 10)).toBe('▏·········');
    expect(bar(2, 4)).toBe('████');
    expect(bar(Number.NaN, 4)).toBe('····');
  });

  it('the terminal view shows per service: bars with shares and weights, mode, reason, Modal runners/backlog, utilization, cordons', () => {
    const lines = renderState(state([service()]), { width: 120, admin: '127.0.0.1:18081', color: false });
    expect(lines[0]).toBe('spillway watch · 127.0.0.1:18081 · 12:00:05 · decision · 1 ADS stream · 1 envoy (SYNCED 1)');
    expect(lines).toContain('echo  spilling  (controller)');
    expect(lines.find((l) => l.startsWith('  in-house'))).toMatch(/█+·* +70\.0% {2}w=700$/);
    expect(lines.find((l) => l.startsWith('  modal'))).toMatch(/ 30\.0% {2}w=300$/);
    expect(lines).toContain('  reason: in-house at 95% of capacity; spilling the overflow');
    expect(lines).toContain('  in-house util 95.0% of 8 · offered 42.5 rps · modal runners 3 backlog 2 (1.2s old)');
    expect(lines).toContain('  cordoned: 10.0.0.2:80 DRAINING');
    expect(lines).toContain('  modal cost $0.64/h now · $1.50 since start · $0.0040 today (UTC)');
    expect(lines.some((l) => l.includes('dropped'))).toBe(false);
  });

  it("names hosts Spillway's own probe finds down", () => {
    const base = service();
    const s = service({ in_house: [base.in_house[0]!, { ...base.in_house[1]!, health: 'HEALTHY', probe: 'PROBE_DOWN' }] });
    const lines = renderState(state([s]), { width: 120, admin: '127.0.0.1:18081', color: false });
    expect(lines).toContain('  probe down: 10.0.0.2:80');
    expect(renderState(state([base]), { width: 120, admin: '127.0.0.1:18081', color: false }).some((l) => l.includes('probe'))).toBe(false);
  });

  it('shows an override with the time left and what the controller would do', () => {
    const s = service({
      source: 'OVERRIDE',
      service_mode: 'MODE_OVERRIDE',
      override: { share: 0.5, reason: 'x', set_at_unix_ms: 0, expires_at_unix_ms: Date.UTC(2025, 0, 1, 12, 10, 5), remaining_ms: 600_000 },
      decision: {
        decision_policy: 'POLICY_DEFAULT',
        decision_mode: 'MODE_IN_HOUSE',
        reason: 'r',
        weights: null,
        shares: { in_house: 1, modal: 0, dropped: 0 },
        at_unix_ms: 0,
        inputs: [],
      },
    });
    const lines = renderState(state([s]), { width: 120, admin: 'a', color: false });
    expect(lines).toContain('  override: 50.0% Modal, 10m00s left; controller wants 0.0% (in-house)');
  });

  it('colour codes never count towards the width', () => {
    const lines = renderState(state([service()]), { width: 40, admin: 'a', color: true });
    // eslint-disable-next-line no-control-regex -- ANSI escapes are what this strips
    for (const l of lines) expect(l.replace(/\x1b\[[0-9;]*m/g, '').length).toBeLessThanOrEqual(40);
    expect(truncate('\x1b[1mabcdef\x1b[0m', 3)).toBe('\x1b[1mabc\x1b[0m');
  });

  it('the plain view is one greppable line per service', () => {
    const lines = renderPlain(
      state([service(), service({ name: 'plain', service_mode: 'MODE_STATIC', source: 'STATIC', modal_stats: null, modal_cost: null })]),
    );
    expect(lines).toEqual([
      '2025-01-01T12:00:05.000Z decision echo mode=spilling source=CONTROLLER in_house=70.0% modal=30.0% dropped=0.0% weights=700/300 util=95.0% offered_rps=42.5 runners=3 backlog=2 cost_per_hour=$0.64 cost_today=$0.0040 reason="in-house at 95% of capacity; spilling the overflow"',
      '2025-01-01T12:00:05.000Z decision plain mode=static source=STATIC in_house=70.0% modal=30.0% dropped=0.0% weights=700/300 util=95.0% offered_rps=42.5 runners=- backlog=- cost_per_hour=- cost_today=- reason="in-house at 95% of capacity; spilling the overflow"',
    ]);
  });

  it('ages read naturally', () => {
    expect(fmtAge(undefined)).toBe('never');
    expect(fmtAge(250)).toBe('250ms');
    expect(fmtAge(12_345)).toBe('12.3s');
    expect(fmtAge(185_000)).toBe('3m05s');
    expect(fmtAge(2 * 3_600_000 + 60_000)).toBe('2h01m');
  });
});

describe('spillway watch against a live admin port', () => {
  it('--plain prints the current state, then a line per update', async () => {
    const rig = await startAdminRig();
    const out = new PassThrough();
    let text = '';
    out.on('data', (b: Buffer) => (text += b.toString()));
    const stop = new AbortController();
    const done = runWatch({ admin: `127.0.0.1:${rig.app.adminPort}`, plain: true, service: 'echo', out, signal: stop.signal });
    try {
      const until = (pred: () => boolean): Promise<unknown> => waitFor(pred, 3000, () => `watch output; so far:\n${text}`, 10);
      await until(() => text.includes(' initial echo '));
      expect(text).toMatch(/ initial echo mode=static source=STATIC in_house=80\.0% modal=20\.0% /);
      rig.app.publisher.setPlan('echo', planForShare(0.4));
      await until(() => text.includes(' publish echo '));
      expect(text).toMatch(/ publish echo .* modal=40\.0% dropped=0\.0% weights=600\/400 /);
      expect(text).not.toContain('\x1b[');
    } finally {
      stop.abort();
      expect(await done).toBe(0);
      await rig.close();
    }
  });
});
