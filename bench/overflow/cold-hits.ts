// Counts Modal inputs that waited for a container, from the fake's own simulation: every input's
// enqueue → start time. The fake exposes no per-input hook, so the benchmark wraps
// AutoscalerSim.prototype.submit for the process (bench-only instrumentation; the fake is unchanged).
import { AutoscalerSim } from '../../tools/fake-modal/autoscaler-sim.js';

export interface ColdHitCounts {
  inputs: number;
  /** Waited > 50 ms in Modal's backlog: the simulator's "cold hits" (no free container slot). */
  waited: number;
  /** Waited > half a cold start: met a container's cold start. */
  metColdStart: number;
}

export function countColdHits(coldStartMs: number): { counts: ColdHitCounts; uninstall(): void } {
  const counts: ColdHitCounts = { inputs: 0, waited: 0, metColdStart: 0 };
  const original = AutoscalerSim.prototype.submit;
  AutoscalerSim.prototype.submit = function (this: AutoscalerSim, req) {
    const ticket = original.call(this, req);
    void ticket.done.then((o) => {
      if (o.kind !== 'done') return;
      counts.inputs++;
      const wait = o.startedAtMs - o.enqueuedAtMs;
      if (wait > 50) counts.waited++;
      if (wait > coldStartMs / 2) counts.metColdStart++;
    });
    return ticket;
  };
  return { counts, uninstall: () => void (AutoscalerSim.prototype.submit = original) };
}
