// One real overflow run: the rig, open-loop load from the scenario, and the outcome in the
// simulator's terms (shed/5xx %, p99, Modal container-seconds, cold hits, EDS pushes).
import { runLoad } from '../../tools/loadgen/run-load.js';
import { startRig } from '../reaction/rig.js';
import { COLD_START_MS, rigFor, SHAPES, SERVICE_MS, type PolicyName, type ShapeName } from './cells.js';
import { countColdHits } from './cold-hits.js';

export interface CellOutcome {
  shape: ShapeName;
  policy: PolicyName;
  seed: number;
  requests: number;
  /** Not a 2xx: dropped by the client, transport errors, Envoy's 503s, in-house queue-full 503s, Modal errors. */
  bad: number;
  shedPct: number;
  /** Over every response (fast 503s included; the simulator's is over served requests). */
  p50Ms: number;
  p99Ms: number;
  p99ServedUpperMs: number;
  modalServed: number;
  modalContainerSeconds: number;
  containersStarted: number;
  coldHits: { inputs: number; waited: number; metColdStart: number };
  pushes: number;
  tiers: Record<string, number>;
  status: Record<string, number>;
}

export async function runCell(shape: ShapeName, policy: PolicyName, seed: number): Promise<CellOutcome> {
  const cold = countColdHits(COLD_START_MS);
  const rig = await startRig(rigFor(policy));
  let pushes = 0;
  const off = rig.app.onDecision(() => pushes++);
  try {
    const s = await runLoad({
      url: rig.baseUrl,
      path: `/work?ms=${SERVICE_MS}`,
      scenario: SHAPES[shape](),
      seed,
      concurrency: 512,
      timeoutMs: 30_000,
    });
    const billing = rig.fake.state().functions[0]!.billing;
    const ok = Object.entries(s.status).reduce((n, [code, c]) => (code.startsWith('2') ? n + c : n), 0);
    const bad = s.arrivals - ok;
    const byTier = s.latency_ms_by_tier;
    return {
      shape,
      policy,
      seed,
      requests: s.arrivals,
      bad,
      shedPct: (100 * bad) / Math.max(1, s.arrivals),
      p50Ms: s.latency_ms?.p50 ?? NaN,
      p99Ms: s.latency_ms?.p99 ?? NaN,
      p99ServedUpperMs: Math.max(byTier.in_house?.p99 ?? 0, byTier.modal?.p99 ?? 0),
      modalServed: s.tiers.modal,
      modalContainerSeconds: billing.containerSeconds,
      containersStarted: billing.containersStarted,
      coldHits: { ...cold.counts },
      pushes: Math.max(0, pushes - 1),
      tiers: s.tiers,
      status: s.status,
    };
  } finally {
    off();
    cold.uninstall();
    await rig.close();
  }
}
