// The simulator's prediction for a cell: src/sim's engine with the real run's parameters (slots,
// service time, Modal knobs, LRS/poll/tick intervals, the same arrival shape) and the real pure
// decide() of the same policy config, averaged over a few seeds.
import { validateCapacityConfig } from '../../src/config/capacity-policy.js';
import { DEFAULT_SIM, simulate, type SimParams, type SimResult } from '../../src/sim/engine.js';
import { modelController } from '../../src/sim/policies.js';
import type { Trace } from '../../src/sim/traces.js';
import { rateAt } from '../../tools/loadgen/scenarios.js';
import { COLD_START_MS, DURATION_S, POLICIES, rigFor, SERVICE_MS, SHAPES, STEP_AT_S, type PolicyName, type ShapeName } from './cells.js';

export interface SimPrediction {
  mergeWindowMs: number;
  seeds: number[];
  shedPct: number;
  p50Ms: number;
  p99Ms: number;
  modalContainerSeconds: number;
  coldHits: number;
  modalServed: number;
  pushes: number;
}

export function simParams(policy: PolicyName, mergeWindowMs: number, seed: number): SimParams {
  const rig = rigFor(policy);
  return {
    ...DEFAULT_SIM,
    seed,
    slotsPerHost: rig.inHouse.slots,
    serviceMeanMs: SERVICE_MS,
    serviceCv: 0.02, // the backends and the fake run ?ms=200 exactly; a sliver keeps the lognormal defined
    pendingLimit: rig.inHouse.hosts * rig.inHouse.slots * 2, // each backend queues 2 × slots, then 503s
    routeTimeoutMs: 30_000, // the load generator's per-request timeout (the route has none)
    modalMaxInputs: rig.modal.maxInputs,
    modalTargetInputs: rig.modal.targetInputs ?? rig.modal.maxInputs,
    modalMaxContainers: rig.modal.maxContainers,
    modalExtraMs: 3, // loopback TLS
    coldStartMeanMs: COLD_START_MS,
    coldStartCv: 0.01, // the fake's cold start is fixed
    scaledownWindowMs: rig.modal.scaledownWindowMs ?? 60_000,
    xdsDelayMs: 15, // measured in the reaction benchmark: tick → workers ≈ 10–20 ms
    mergeWindowMs,
    lrsIntervalMs: rig.lrsIntervalMs,
    pollIntervalMs: rig.pollIntervalMs,
    pollDelayMs: 5,
    actuatorDelayMs: 20,
  };
}

export function simulateCell(shape: ShapeName, policy: PolicyName, mergeWindowMs: number, seeds = [42, 43, 44]): SimPrediction {
  const scenario = SHAPES[shape]();
  const rig = rigFor(policy);
  const trace: Trace = {
    name: `${shape}-${policy}`,
    description: shape,
    durationS: DURATION_S,
    rate: (t) => rateAt(scenario, t),
    hosts: () => rig.inHouse.hosts,
    stepAtS: STEP_AT_S[shape],
  };
  const v = validateCapacityConfig({ ...POLICIES[policy] });
  if (!v.ok) throw new Error(v.errors.join('\n'));
  const results: SimResult[] = seeds.map((seed) =>
    simulate(trace, modelController(policy, v.value, rig.tickMs), simParams(policy, mergeWindowMs, seed)),
  );
  const mean = (f: (r: SimResult) => number): number => results.reduce((n, r) => n + f(r), 0) / results.length;
  return {
    mergeWindowMs,
    seeds,
    shedPct: mean((r) => (100 * (r.shed + r.errors)) / r.requests),
    p50Ms: mean((r) => r.p50Ms),
    p99Ms: mean((r) => r.p99Ms),
    modalContainerSeconds: mean((r) => r.modalContainerSeconds),
    coldHits: mean((r) => r.coldHits),
    modalServed: mean((r) => r.modalServed),
    pushes: mean((r) => r.pushes),
  };
}
