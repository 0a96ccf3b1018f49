// The overflow cells: two load shapes × two policies on one small topology, sized for 2 cores.
// In-house 3 hosts × 4 slots × 200 ms = 60 rps at ρ = 1 (48 rps at ρ* 0.8); Modal max_inputs 4,
// target_inputs 3, up to 10 containers, 3 s cold start, 10 s scaledown window. Every number here
// feeds both the real run and the simulator, so the two are compared on the same parameters.
import type { RigOptions } from '../reaction/rig.js';
import { buildScenario, type Scenario } from '../../tools/loadgen/scenarios.js';

export const DURATION_S = 60;
export const SERVICE_MS = 200;
export const COLD_START_MS = 3000;

export const SHAPES = {
  // 36 rps (60 %) → 90 rps (150 %) at 15 s, held to the end.
  step: (): Scenario => buildScenario('step', { durationS: DURATION_S, baseRps: 36, peakRps: 90, atS: 15 }),
  // 36 rps with a 15 s square burst at 150 rps (250 %) from 20 s.
  burst: (): Scenario => buildScenario('burst', { durationS: DURATION_S, baseRps: 36, peakRps: 150, atS: 20, holdS: 15 }),
} as const;
export type ShapeName = keyof typeof SHAPES;
export const STEP_AT_S: Record<ShapeName, number> = { step: 15, burst: 20 };

export const POLICIES = {
  seed: { policy: 'seed', in_house_service_time_ms: SERVICE_MS, modal_service_time_ms: SERVICE_MS + 10 },
  default: { policy: 'default', in_house_service_time_ms: SERVICE_MS, modal_service_time_ms: SERVICE_MS + 10 },
} as const;
export type PolicyName = keyof typeof POLICIES;

export function rigFor(policy: PolicyName): RigOptions {
  return {
    inHouse: { hosts: 3, slots: 4, serviceMs: SERVICE_MS },
    modal: { maxInputs: 4, targetInputs: 3, maxContainers: 10, minContainers: 0, coldStartMs: COLD_START_MS, scaledownWindowMs: 10_000 },
    lrsIntervalMs: 1000,
    tickMs: 1000,
    pollIntervalMs: 2000,
    capacity: { ...POLICIES[policy] },
  };
}
