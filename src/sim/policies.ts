// The controllers the simulator compares: a static split, the seed and default policies through
// the real pure decide(), and an oracle that reads the trace's future.
import { decide } from '../capacity/decide.js';
import { makePolicy, PolicyName, type CapacityPolicy } from '../config/capacity-policy.js';
import { ModalHealth, planForShare } from '../model/traffic-plan.js';
import type { Decision } from '../capacity/types.js';
import type { SimController, TickContext } from './engine.js';

export function staticSplit(share: number): SimController {
  const plan = planForShare(share);
  return { name: `static ${Math.round(share * 100)} %`, tickMs: 60_000, tick: () => ({ plan }) };
}

/** Runs the real model; `seed` ticks at its ~3 s poll, `default` every second. */
export function modelController(name: string, policy: CapacityPolicy, tickMs: number): SimController {
  let prev: Decision | undefined;
  return {
    name,
    tickMs,
    // As in Spillway: the default policy also decides on each new input; the seed keeps its poll cadence.
    nudge: policy.name === PolicyName.Default,
    tick: ({ nowMs, inputs }) => {
      prev = decide(prev, inputs, nowMs, policy);
      return {
        plan: prev.plan,
        ...(prev.autoscaler ? { minContainers: prev.autoscaler.minContainers } : {}),
        ...(prev.loadFollowUp ? { loadFollowUpMs: prev.loadFollowUp.afterMs } : {}),
      };
    },
  };
}

export const seedController = (): SimController => modelController('seed', makePolicy({ name: 'seed' }), 3_000);
export const defaultController = (): SimController => modelController('default', makePolicy(), 1_000);
/** The default policy for clients that would rather be refused at once than wait: nothing waits inside Modal (modal_wait_budget_ms 0). */
export const noWaitController = (): SimController => modelController('no-wait', makePolicy({ default: { modalWaitBudgetMs: 0 } }), 1_000);

/**
 * What could be served with the same capacities and cold starts: a causal oracle that knows the
 * exact demand and capacity of this instant (no LRS delay, no xDS delay, instant autoscaler updates),
 * spills exactly the excess over ρ*·capacity up to Modal's maximum, sheds what neither tier can take,
 * and sets min_containers for the need of this instant. It cannot see a flash crowd coming.
 */
export function oracle(rho = 0.8): SimController {
  return {
    name: 'oracle',
    tickMs: 1_000,
    tick: ({ nowMs, trace, params: p }: TickContext) => {
      const t = nowMs / 1000;
      const wIn = p.serviceMeanMs / 1000;
      const wM = (p.serviceMeanMs + p.modalExtraMs) / 1000;
      const full = (trace.hosts(t) * p.slotsPerHost * (trace.scaler?.(t) ?? 1)) / wIn;
      const lam = trace.rate(t);
      const excess = Math.max(0, lam - rho * full);
      const modalMax = (p.modalMaxContainers * p.modalMaxInputs) / wM;
      const modalTake = Math.min(excess, modalMax);
      const shed = Math.max(0, lam - modalTake - 0.95 * full);
      const drop = lam > 0 ? shed / lam : 0;
      const passed = lam - shed;
      const need = Math.ceil((modalTake * wM) / p.modalTargetInputs);
      return {
        plan: planForShare(passed > 0 ? modalTake / passed : 0, ModalHealth.Healthy, 100 * drop),
        minContainers: Math.min(need, p.modalMaxContainers),
        instant: true,
      };
    },
  };
}
