// The overflow cells: the shapes of traffic that matter, on one small topology sized for 2 cores, each
// run through a real Envoy and through the simulator with the same parameters. In-house 3 hosts × 4
// slots × 200 ms = 60 rps at ρ = 1 (48 rps at ρ* 0.8, 57 at the 0.95 maximum); Modal max_inputs 4,
// target_inputs 3, up to 10 containers, 3 s cold start (10 s in flash-cold), 10 s scaledown window.
import type { RigOptions } from '../reaction/rig.js';
import type { Scenario } from '../../tools/loadgen/scenarios.js';

export const DURATION_S = 60;
export const SERVICE_MS = 200;
export const COLD_START_MS = 3000;
export const HOSTS = 3;
/** Spillway's own probe of the backends (in_house.probe): sees a host lost or back within this. */
export const PROBE_INTERVAL_MS = 250;
export const SLOTS = 4;
/** In-house target at ρ* 0.8, rps: what Modal traffic under it counts as wasted spill. */
export const IN_HOUSE_TARGET_RPS = (0.8 * HOSTS * SLOTS * 1000) / SERVICE_MS;

/** Segments from (start, rps) points, each held until the next. */
const holds = (name: string, points: Array<[number, number]>): Scenario => ({
  name,
  segments: points.map(([startS, rps], i) => ({ startS, endS: points[i + 1]?.[0] ?? DURATION_S, fromRps: rps, toRps: rps })),
});

/** ±6 % around a mean in 5 s steps, from a fixed sequence (reproducible). */
const HOVER_STEPS = [1.03, 0.97, 1.06, 0.95, 1.01, 1.05, 0.96, 1.04, 0.94, 1.02, 0.98, 1.06];

export interface CellSpec {
  description: string;
  scenario: () => Scenario;
  /** In-house hosts up at time t (a host lost and back). */
  hosts?: (t: number) => number;
  /** The service's capacity_scaler at time t (a planned drain). */
  scaler?: (t: number) => number;
  coldStartMs?: number;
  /** Start of the event that needs spill, for "time to spill". */
  eventAtS: number;
}

export const CELLS = {
  'flash-cold': {
    description: '30 rps, a flash crowd of 150 rps (2.5× in-house) from 15 s for 25 s, into a cold tier with a 10 s cold start',
    scenario: () =>
      holds('flash-cold', [
        [0, 30],
        [15, 150],
        [40, 30],
      ]),
    coldStartMs: 10_000,
    eventAtS: 15,
  },
  step: {
    description: '30 → 90 rps (150 % of in-house) at 15 s, held',
    scenario: () =>
      holds('step', [
        [0, 30],
        [15, 90],
      ]),
    eventAtS: 15,
  },
  'slow-ramp': {
    description: '30 → 100 rps from 10 s to 45 s, held',
    scenario: () => ({
      name: 'slow-ramp',
      segments: [
        { startS: 0, endS: 10, fromRps: 30, toRps: 30 },
        { startS: 10, endS: 45, fromRps: 30, toRps: 100 },
        { startS: 45, endS: DURATION_S, fromRps: 100, toRps: 100 },
      ],
    }),
    eventAtS: 10,
  },
  hover: {
    description: 'demand hovering at the in-house target: 50 rps ± 6 % in 5 s steps',
    scenario: () =>
      holds(
        'hover',
        HOVER_STEPS.map((f, i) => [i * 5, 50 * f]),
      ),
    eventAtS: 0,
  },
  'host-loss': {
    description: '45 rps; one of the 3 in-house hosts lost at 15 s and back at 45 s',
    scenario: () => holds('host-loss', [[0, 45]]),
    hosts: (t) => (t >= 15 && t < 45 ? 2 : 3),
    eventAtS: 15,
  },
  drain: {
    description: '45 rps; a planned drain scales in-house capacity to 0.5 from 15 s to 45 s (capacity_scaler)',
    scenario: () => holds('drain', [[0, 45]]),
    scaler: (t) => (t >= 15 && t < 45 ? 0.5 : 1),
    eventAtS: 15,
  },
} satisfies Record<string, CellSpec>;
export type CellName = keyof typeof CELLS;

/**
 * When a cell's demand jumps up or its capacity down (s) — the jumps that can overload in-house
 * before a report shows them: a segment starting above the rate the last one ended at, a host lost,
 * a capacity_scaler cut. Ramps are not jumps — reports follow them.
 */
export function changesOf(cell: CellName): number[] {
  const spec: CellSpec = CELLS[cell];
  const segs = spec.scenario().segments;
  const out = segs.filter((seg, i) => i > 0 && seg.fromRps > segs[i - 1]!.toRps).map((seg) => seg.startS);
  for (let t = 1; t < DURATION_S; t++) {
    if (spec.hosts && spec.hosts(t) < spec.hosts(t - 1)) out.push(t);
    if (spec.scaler && spec.scaler(t) < spec.scaler(t - 1)) out.push(t);
  }
  return [...new Set(out)].sort((a, b) => a - b);
}
export const CELL_NAMES = Object.keys(CELLS) as CellName[];

export const POLICIES = {
  seed: { policy: 'seed', in_house_service_time_ms: SERVICE_MS, modal_service_time_ms: SERVICE_MS + 10 },
  default: {
    policy: 'default',
    in_house_service_time_ms: SERVICE_MS,
    modal_service_time_ms: SERVICE_MS + 10,
    cold_start_ms: COLD_START_MS,
  },
  // The default policy for clients that would rather be refused at once than wait: no request waits
  // inside Modal for a slot (modal_wait_budget_ms 0), so a crowd into a cold tier is shed at the edge.
  'no-wait': {
    policy: 'default',
    in_house_service_time_ms: SERVICE_MS,
    modal_service_time_ms: SERVICE_MS + 10,
    cold_start_ms: COLD_START_MS,
    modal_wait_budget_ms: 0,
  },
} as const;
export type PolicyName = keyof typeof POLICIES;

export function rigFor(policy: PolicyName, cell: CellName): RigOptions {
  const coldStartMs = (CELLS[cell] as CellSpec).coldStartMs ?? COLD_START_MS;
  const capacity = policy === 'seed' ? { ...POLICIES.seed } : { ...POLICIES[policy], cold_start_ms: coldStartMs };
  return {
    inHouse: { hosts: HOSTS, slots: SLOTS, serviceMs: SERVICE_MS },
    modal: { maxInputs: 4, targetInputs: 3, maxContainers: 10, minContainers: 0, coldStartMs, scaledownWindowMs: 10_000 },
    lrsIntervalMs: 1000,
    tickMs: 1000,
    pollIntervalMs: 2000,
    probeIntervalMs: PROBE_INTERVAL_MS,
    capacity,
  };
}
