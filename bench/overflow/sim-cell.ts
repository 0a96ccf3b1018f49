// The simulator's prediction for a cell: src/sim's engine with the real run's parameters (slots,
// service time, Modal knobs, LRS/poll/tick intervals, the same arrival shape, hosts and scaler) and
// the real pure decide() of the same policy config, averaged over a few seeds — and the causal
// oracle on the same cell, which is what "feasible" means in every figure.
import { validateCapacityConfig } from '../../src/config/capacity-policy.js';
import { DEFAULT_SIM, simulate, type SimParams, type SimResult, type Trace } from '../../src/sim/engine.js';
import { modelController, oracle } from '../../src/sim/policies.js';
import { rateAt } from '../../tools/loadgen/scenarios.js';
import { CELLS, changesOf, DURATION_S, HOSTS, rigFor, SERVICE_MS, type CellName, type CellSpec, type PolicyName } from './cells.js';

export function simParams(cell: CellName, policy: PolicyName, seed: number): SimParams {
  const rig = rigFor(policy, cell);
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
    coldStartMeanMs: rig.modal.coldStartMs ?? 3000,
    coldStartCv: 0.01, // the fake's cold start is fixed
    scaledownWindowMs: rig.modal.scaledownWindowMs ?? 60_000,
    xdsDelayMs: 15, // measured in the reaction benchmark: tick → workers ≈ 10–20 ms
    mergeWindowMs: 0,
    lrsIntervalMs: rig.lrsIntervalMs,
    pollIntervalMs: rig.pollIntervalMs,
    pollDelayMs: 5,
    actuatorDelayMs: 20,
    // The rig configures no active health checks: Envoy stops using a closed backend on its first
    // refused connections and uses a revived one at once (its first second serves ≈ 9 requests).
    healthCheckDetectMs: 0,
    probeIntervalMs: rig.probeIntervalMs ?? 0,
  };
}

export function traceOf(cell: CellName): Trace {
  const spec: CellSpec = CELLS[cell];
  const scenario = spec.scenario();
  return {
    name: cell,
    description: spec.description,
    durationS: DURATION_S,
    rate: (t) => rateAt(scenario, t),
    hosts: spec.hosts ?? (() => HOSTS),
    ...(spec.scaler ? { scaler: spec.scaler } : {}),
    stepAtS: spec.eventAtS,
    changesS: changesOf(cell),
  };
}

/** The simulator's results for a policy (or the oracle) on a cell, one per seed. */
export function simulateCell(cell: CellName, policy: PolicyName | 'oracle', seeds = [42, 43, 44]): SimResult[] {
  const trace = traceOf(cell);
  if (policy === 'oracle') return seeds.map((seed) => simulate(trace, oracle(), simParams(cell, 'default', seed)));
  const rig = rigFor(policy, cell);
  const v = validateCapacityConfig({ ...rig.capacity });
  if (!v.ok) throw new Error(v.errors.join('\n'));
  return seeds.map((seed) => simulate(trace, modelController(policy, v.value, rig.tickMs), simParams(cell, policy, seed)));
}
