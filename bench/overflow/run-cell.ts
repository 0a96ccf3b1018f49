// One real overflow run: the rig, the cell's events (a host lost and back, a planned drain) at their
// times, open-loop load from the scenario, and the outcome in the figures BENCHMARKS.md reports.
import { startInHouseBackend, type InHouseBackend } from '../../tools/backends/in-house-backend.js';
import type { Tier } from '../../tools/loadgen/tier.js';
import { runLoad } from '../../tools/loadgen/run-load.js';
import { rateAt } from '../../tools/loadgen/scenarios.js';
import { startRig } from '../reaction/rig.js';
import {
  CELLS,
  changesOf,
  HOSTS,
  IN_HOUSE_TARGET_RPS,
  rigFor,
  SERVICE_MS,
  SLOTS,
  type CellName,
  type CellSpec,
  type PolicyName,
} from './cells.js';

/**
 * Requests the load tool keeps in flight at most. A crowd's requests may wait in Modal's queue through
 * a cold start (about a thousand in flash-cold): the tool must not be what refuses them — the
 * simulator and its oracle have no such cap.
 */
const LOAD_CONCURRENCY = 4096;

export interface CellOutcome {
  cell: CellName;
  policy: PolicyName;
  seed: number;
  requests: number;
  /** 2xx from either tier. */
  served: number;
  /** Envoy's deliberate 503s (drop_overloads). */
  shed: number;
  /** Everything else that did not succeed (in-house 503s, connect failures, Modal errors, timeouts). */
  otherFailed: number;
  /** In-house backends' own 503s (queue full) and every request they answered. */
  inHouseRejected: number;
  /** Of inHouseRejected, those within one LRS interval of a jump in demand or capacity (changesOf). */
  inHouseRejectedUnforeseeable: number;
  inHouseAnswered: number;
  modalServed: number;
  /** Modal responses to requests sent while the offered rate was under the in-house target. */
  wastedSpill: number;
  p50Ms: number;
  p99Ms: number;
  modalContainerSeconds: number;
  pushes: number;
  durationS: number;
}

export async function runCell(cell: CellName, policy: PolicyName, seed: number): Promise<CellOutcome> {
  const spec: CellSpec = CELLS[cell];
  const rig = await startRig(rigFor(policy, cell));
  let pushes = 0;
  const off = rig.app.onDecision(() => pushes++);
  const timers: NodeJS.Timeout[] = [];
  const revived: InHouseBackend[] = [];
  try {
    const scenario = spec.scenario();
    // Events on the scenario's clock: a host that dies (its port refuses connections) and comes back
    // on the same port, a capacity_scaler applied like a SIGHUP reload.
    const at = (s: number, fn: () => Promise<void> | void): void => void timers.push(setTimeout(() => void fn(), s * 1000));
    // Backend 503s in the first LRS interval after each jump: no report can have shown the jump yet.
    // Every backend ever started is counted (a lost host's counters stop, a revived one starts at 0).
    const everyBackend = new Set(rig.inHouse);
    const rejectedNow = (): number => [...everyBackend].reduce((n, b) => n + b.state().rejected, 0);
    let unforeseeable = 0;
    const lrsS = rigFor(policy, cell).lrsIntervalMs / 1000;
    // Windows never overlap (a change within one interval of the last one would be counted twice).
    const changes = changesOf(cell).filter((c, i, all) => i === 0 || c - all[i - 1]! >= lrsS);
    for (const c of changes) {
      let before = 0;
      at(c, () => void (before = rejectedNow()));
      at(c + lrsS, () => void (unforeseeable += rejectedNow() - before));
    }
    if (spec.hosts) {
      const victim = rig.inHouse[rig.inHouse.length - 1]!;
      const port = victim.port;
      const down = [...Array(60).keys()].find((t) => spec.hosts!(t) < rig.inHouse.length);
      const up = down === undefined ? undefined : [...Array(60).keys()].find((t) => t > down && spec.hosts!(t) === rig.inHouse.length);
      if (down !== undefined)
        at(down, async () => {
          await victim.close();
        });
      if (up !== undefined)
        at(up, async () => {
          const back = await startInHouseBackend({ name: victim.name, port, slots: SLOTS, serviceMs: SERVICE_MS });
          revived.push(back);
          everyBackend.add(back);
          rig.inHouse[rig.inHouse.length - 1] = back;
        });
    }
    if (spec.scaler) {
      for (const t of [...Array(60).keys()].filter((t) => t === 0 || spec.scaler!(t) !== spec.scaler!(t - 1))) {
        at(t, () => {
          const services = rig.app.publisher.currentServices().map((s) => ({ ...s, capacityScaler: spec.scaler!(t) }));
          rig.app.publisher.setServices(services);
        });
      }
    }
    // The in-house target of that second: hosts lost and a drain lower it (as in the simulator).
    const targetAt = (t: number): number =>
      IN_HOUSE_TARGET_RPS * ((spec.hosts?.(Math.floor(t)) ?? HOSTS) / HOSTS) * (spec.scaler?.(Math.floor(t)) ?? 1);
    // Judged by when the request arrived, as in the simulator: a crowd's Modal answers that finish
    // after the crowd are not waste.
    let wastedSpill = 0;
    const onResponse = (arrivalAtS: number, tier: Tier): void => {
      if (tier === 'modal' && rateAt(scenario, arrivalAtS) < targetAt(arrivalAtS)) wastedSpill++;
    };
    const s = await runLoad(
      { url: rig.baseUrl, path: `/work?ms=${SERVICE_MS}`, scenario, seed, concurrency: LOAD_CONCURRENCY, timeoutMs: 30_000 },
      { onResponse },
    );
    // The same counters the windows read: every backend ever started, a lost one's frozen at close.
    const backends = [...everyBackend].map((b) => b.state());
    const ok = Object.entries(s.status).reduce((n, [code, c]) => (code.startsWith('2') ? n + c : n), 0);
    return {
      cell,
      policy,
      seed,
      requests: s.arrivals,
      served: ok,
      shed: s.tiers.shed,
      otherFailed: s.arrivals - ok - s.tiers.shed,
      inHouseRejected: backends.reduce((n, b) => n + b.rejected, 0),
      inHouseRejectedUnforeseeable: unforeseeable,
      inHouseAnswered: backends.reduce((n, b) => n + b.rejected + b.served, 0),
      modalServed: s.tiers.modal,
      wastedSpill,
      p50Ms: s.latency_ms?.p50 ?? NaN,
      p99Ms: s.latency_ms?.p99 ?? NaN,
      modalContainerSeconds: rig.fake.state().functions[0]!.billing.containerSeconds,
      pushes: Math.max(0, pushes - 1),
      durationS: s.duration_s,
    };
  } finally {
    for (const t of timers) clearTimeout(t);
    off();
    await Promise.all(revived.map((b) => b.close()));
    await rig.close();
  }
}
