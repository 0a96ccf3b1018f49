// What a restart takes back from saved operating state: decided from the state, the config and the
// time alone.
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/capacity/decide.js';
import type { Decision } from '../../src/capacity/types.js';
import type { ServiceConfig } from '../../src/config/config-types.js';
import { decodeOperatingState, encodeOperatingState, emptyOperatingState, type OperatingState } from '../../src/control/operating-state.js';
import { planRestore, restoreDecision } from '../../src/control/state-restore.js';
import { planForShare } from '../../src/model/traffic-plan.js';
import { configFrom, FREE_PORTS } from '../../tools/config-fixtures.js';
import { inputs, T0 } from '../capacity/fixtures.js';

function services(capacity: Record<string, unknown> = { policy: 'default', stale_after_ms: 15_000 }): ServiceConfig[] {
  return configFrom({
    ...FREE_PORTS,
    services: [
      {
        name: 'svc',
        listener: '127.0.0.1:20001',
        in_house: {
          endpoints: [
            { address: '10.0.0.1', port: 80, capacity: 40 },
            { address: '10.0.0.2', port: 80, capacity: 40 },
          ],
        },
        modal: { url: 'https://ws--svc.modal.run', app: 'a', function: 'f', max_inputs: 10, max_containers: 40 },
        capacity,
      },
      { name: 'plain', listener: '127.0.0.1:20002', in_house: { endpoints: [{ address: '10.0.1.1', port: 80, capacity: 4 }] } },
    ],
  }).services;
}

/** A decision the default policy really made: spilling, with a hold window and verified capacity in its memory. */
function spillingDecision(svc: ServiceConfig, atMs: number): Decision {
  let d: Decision | undefined;
  for (let t = atMs - 20_000; t <= atMs; t += 1000) {
    const share = d ? d.plan.modalWeight / 1000 : 0;
    d = decide(d, inputs(t, { offered: 900, modalShare: share, runners: 12, runningInputs: 20, inputHeadroom: 80 }), t, svc.capacity!);
  }
  expect(d!.mode).toBe('spilling');
  return d!;
}

/** The saved document as it comes back from a store (JSON text round trip). */
function saved(mutate: (s: OperatingState) => void): OperatingState {
  const s = emptyOperatingState(T0);
  mutate(s);
  const r = decodeOperatingState(encodeOperatingState(s));
  if (!r.ok) throw new Error(r.error);
  return r.state;
}

describe('planRestore', () => {
  const svcs = services();
  const svc = svcs[0]!;

  it('restores the controller memory younger than stale_after_ms, and the plan it published', () => {
    const d = spillingDecision(svc, T0);
    const state = saved((s) => {
      s.services['svc'] = {
        cordons: {},
        plan: { plan: d.plan, source: 'CONTROLLER', sinceMs: T0 - 5000 },
        controller: { decision: d, asOfMs: T0 },
      };
    });
    const r = planRestore(state, svcs, T0 + 10_000);
    const s = r.services.find((x) => x.service === 'svc')!;
    expect(s.controller?.decision).toEqual({ ...d, changed: false });
    expect(s.controller?.asOfMs).toBe(T0);
    expect(s.plan).toEqual(d.plan);
    expect(r.notes.join('\n')).toMatch(/svc: controller memory restored \(10000 ms old: spilling, Modal share/);

    // The restored memory is what decide() resumes from: the hold window and the drain carry on.
    expect(s.controller!.decision.state).toEqual(d.state);
  });

  it('drops controller memory older than stale_after_ms: the policy starts from its fail-safe (static plan)', () => {
    const d = spillingDecision(svc, T0);
    const state = saved((s) => {
      s.services['svc'] = {
        cordons: {},
        plan: { plan: d.plan, source: 'CONTROLLER', sinceMs: T0 },
        controller: { decision: d, asOfMs: T0 },
      };
    });
    const r = planRestore(state, svcs, T0 + 15_001);
    const s = r.services.find((x) => x.service === 'svc')!;
    expect(s.controller).toBeUndefined();
    expect(s.plan).toBeUndefined();
    expect(r.notes.join('\n')).toMatch(/controller memory 15 s old, older than capacity.stale_after_ms \(15000 ms\)/);
  });

  it('restores an override for the time it has left, and not once it has expired', () => {
    const state = saved((s) => {
      s.services['plain'] = { cordons: {} };
      s.services['svc'] = { cordons: {}, override: { share: 0.3, reason: 'load test', setAtMs: T0, expiresAtMs: T0 + 60_000 } };
    });
    const live = planRestore(state, svcs, T0 + 20_000).services.find((x) => x.service === 'svc')!;
    expect(live.override).toEqual({ service: 'svc', share: 0.3, reason: 'load test', setAtMs: T0, expiresAtMs: T0 + 60_000 });
    expect(live.plan).toEqual(planForShare(0.3));
    const late = planRestore(state, svcs, T0 + 60_000);
    expect(late.services.find((x) => x.service === 'svc')!.override).toBeUndefined();
    expect(late.notes.join('\n')).toMatch(/override to 30.0 % Modal expired 0 s ago; not restored/);
  });

  it('restores cordons whatever their age, only for endpoints still configured', () => {
    const state = saved((s) => {
      s.services['svc'] = {
        cordons: { '10.0.0.1:80': { state: 'DRAINING', sinceMs: T0 - 86_400_000 }, '10.9.9.9:80': { state: 'DEGRADED', sinceMs: T0 } },
      };
    });
    const r = planRestore(state, svcs, T0 + 3_600_000);
    expect([...r.services[0]!.cordons]).toEqual([['10.0.0.1:80', 'DRAINING']]);
    expect(r.notes.join('\n')).toMatch(/cordon on 10.9.9.9:80 dropped \(the endpoint is no longer configured\)/);
  });

  it('keeps every cordon of a service with endpoint sources: its discovered hosts are not known yet at restore', () => {
    const withDns = svcs.map((svc) => ({
      ...svc,
      inHouseSources: [{ kind: 'dns', name: 'echo.internal', port: 80, family: 'any' }],
    })) as ServiceConfig[];
    const state = saved((s) => {
      s.services['svc'] = { cordons: { '10.9.9.9:80': { state: 'DRAINING', sinceMs: T0 } } };
    });
    expect([...planRestore(state, withDns, T0).services[0]!.cordons]).toEqual([['10.9.9.9:80', 'DRAINING']]);
  });

  it('restores the Modal addresses for the same hostname only', () => {
    const state = saved((s) => {
      s.services['svc'] = {
        cordons: {},
        modalAddress: { hostname: 'ws--svc.modal.run', ips: ['192.0.2.7', '2001:db8::7'], sinceMs: T0 - 3_600_000 },
      };
    });
    expect(planRestore(state, svcs, T0).services[0]!.modalAddresses).toEqual(['192.0.2.7', '2001:db8::7']);
    const moved = saved((s) => {
      s.services['svc'] = { cordons: {}, modalAddress: { hostname: 'other--svc.modal.run', ips: ['192.0.2.7'], sinceMs: T0 } };
    });
    expect(planRestore(moved, svcs, T0).services[0]!.modalAddresses).toBeUndefined();
  });

  it('drops state of services no longer configured, and controller memory of a service no longer controlled', () => {
    const d = spillingDecision(svc, T0);
    const state = saved((s) => {
      s.services['gone'] = { cordons: {} };
      s.services['svc'] = { cordons: {}, controller: { decision: d, asOfMs: T0 } };
    });
    const r = planRestore(state, services({ policy: 'static' }), T0);
    expect(r.services.find((x) => x.service === 'svc')!.controller).toBeUndefined();
    expect(r.notes.join('\n')).toMatch(/gone: no longer configured/);
    expect(r.notes.join('\n')).toMatch(/svc: controller memory dropped \(no capacity controller drives the service now\)/);
  });
});

describe('restoreDecision: memory of another shape is refused cleanly', () => {
  const svc = services()[0]!;
  const d = spillingDecision(svc, T0);
  const json = (): Record<string, any> => JSON.parse(JSON.stringify(d));

  it('accepts what the running model saved', () => {
    expect(restoreDecision(json(), svc, svc.capacity!, T0)).toEqual({ decision: { ...d, changed: false } });
  });

  it('accepts memory saved before the starting-runner field existed, that field starting afresh', () => {
    const old = json();
    delete old['state'].startingRunners;
    const r = restoreDecision(old, svc, svc.capacity!, T0);
    expect('decision' in r && r.decision.state).toMatchObject({ startingRunners: { seen: 0, seenAtMs: null, groups: [] } });
  });

  it.each([
    [
      'a policy state field renamed',
      (x: Record<string, any>) => ((x['state'].lambdaQuick = x['state'].lambdaFast), delete x['state'].lambdaFast),
      /decision.state.lambdaFast: missing/,
    ],
    [
      'a policy state field added',
      (x: Record<string, any>) => (x['state'].budget = 3),
      /decision.state.budget: not part of this version's shape/,
    ],
    [
      'a number that became text',
      (x: Record<string, any>) => (x['state'].share = '0.1'),
      /decision.state.share: expected a number, got a string/,
    ],
    ['a list where a record was', (x: Record<string, any>) => (x['inputs'] = [{ at: 1 }]), /decision.inputs/],
    [
      'the seed policy state',
      (x: Record<string, any>) => (x['state'] = { kind: 'seed', spilling: true, share: 0.2, lastBacklog: null, lastSampleAtMs: null }),
      /decision.state/,
    ],
    ['another policy', (x: Record<string, any>) => (x['policy'] = 'seed'), /made by policy "seed", the service now runs default/],
    ['an unknown mode', (x: Record<string, any>) => (x['mode'] = 'panicking'), /decision.mode: unknown mode "panicking"/],
    ['a broken plan', (x: Record<string, any>) => (x['plan'].modalWeight = -3), /decision.plan.modalWeight: must be a whole number/],
    [
      'a top-level field of a later version',
      (x: Record<string, any>) => (x['budgetLeft'] = 4),
      /decision.budgetLeft: not part of this version's decision/,
    ],
    ['a missing field', (x: Record<string, any>) => delete x['inputs'], /decision.inputs: missing/],
  ])('refuses %s', (_what, mutate, why) => {
    const x = json();
    mutate(x);
    const r = restoreDecision(x, svc, svc.capacity!, T0);
    expect('why' in r && r.why).toMatch(why);
  });

  it('refuses what is not a decision at all', () => {
    const r = restoreDecision('nope', svc, svc.capacity!, T0);
    expect('why' in r && r.why).toMatch(/not an object/);
  });
});
