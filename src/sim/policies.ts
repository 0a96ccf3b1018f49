// The controllers the simulator compares: a static split, the seed and default policies through
// the real pure decide(), and an oracle that reads the trace's future.
import { decide } from '../capacity/decide.js';
import { makePolicy, type CapacityPolicy } from '../config/capacity-policy.js';
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
    tick: ({ nowMs, inputs }) => {
      prev = decide(prev, inputs, nowMs, policy);
      return { plan: prev.plan, ...(prev.autoscaler ? { minContainers: prev.autoscaler.minContainers } : {}) };
    },
  };
}

export const seedController = (): SimController => modelController('seed', makePolicy({ name: 'seed' }), 3_000);
export const defaultController = (): SimController => modelController('default', makePolicy(), 1_000);

/**
 * Knows the future: spills exactly the excess over ρ*·capacity as it happens (no xDS delay), sets
 * min_containers for the need one cold start (p90) ahead and drops it as soon as the need goes.
 */
export function oracle(rho = 0.8): SimController {
  return {
    name: 'oracle',
    tickMs: 1_000,
    tick: ({ nowMs, trace, params: p }: TickContext) => {
      const t = nowMs / 1000;
      const wIn = p.serviceMeanMs / 1000;
      const wM = (p.serviceMeanMs + p.modalExtraMs) / 1000;
      const muTarget = (h: number): number => (rho * h * p.slotsPerHost) / wIn;
      const lam = trace.rate(t);
      const excess = Math.max(0, lam - muTarget(trace.hosts(t)));
      const modalMax = (p.modalMaxContainers * p.modalMaxInputs) / wM;
      const inMax = (0.95 * trace.hosts(t) * p.slotsPerHost) / wIn;
      const share = lam > 0 ? Math.min(excess, modalMax) / lam : 0;
      const drop = lam > 0 ? Math.max(0, lam - inMax - modalMax) / lam : 0;
      const lead = (p.coldStartMeanMs * 1.6) / 1000; // ≈ p90 of the cold-start distribution
      let need = 0;
      for (let s = 0; s <= lead; s += 1) {
        const l = trace.rate(t + s);
        need = Math.max(need, Math.ceil((Math.max(0, l - muTarget(trace.hosts(t + s))) * wM) / p.modalTargetInputs));
      }
      return {
        plan: planForShare(share, ModalHealth.Healthy, 100 * drop),
        minContainers: Math.min(need, p.modalMaxContainers),
        instant: true,
      };
    },
  };
}
