// decide(previous, inputs, nowMs, policy) → Decision. Pure: no clock, no timers, no I/O.
import { decideDefault, initialDefaultState } from './default-policy.js';
import { PolicyName, type CapacityPolicy } from '../config/capacity-policy.js';
import { samePlan } from '../model/traffic-plan.js';
import { decideSeed, initialSeedState } from './seed-policy.js';
import { baseReadings } from './signals.js';
import type { ControllerInputs, Decision } from './types.js';

/** Prefix of a held decision's reason. */
const HOLDING = 'holding the last plan: no load reports from any Envoy (LRS silent)';

export function decide(previous: Decision | undefined, inputs: ControllerInputs, nowMs: number, policy: CapacityPolicy): Decision {
  // Demand comes only from Envoy. With no report at all (every Envoy disconnected, or Spillway just
  // restarted), zero demand would be a guess: keep the last plan until load is seen again.
  const hasLoad = inputs.inHouse !== undefined || inputs.modal !== undefined || inputs.drops !== undefined;
  if (!hasLoad && previous) {
    const reason = previous.reason.startsWith(HOLDING) ? previous.reason : `${HOLDING}; last decision: ${previous.reason}`;
    // A held decision asks for nothing new (no report to look at again).
    const { loadFollowUp: _none, ...held } = previous;
    return { ...held, reason, changed: false };
  }
  // A policy switch (config reload) starts the new policy from a clean state.
  const prev = previous && previous.policy === policy.name ? previous : undefined;
  const readings = baseReadings(inputs, nowMs);
  const common = { service: inputs.service, atMs: nowMs, policy: policy.name };
  if (policy.name === PolicyName.Seed) {
    const prevState = prev?.state.kind === 'seed' ? prev.state : initialSeedState();
    const out = decideSeed(prevState, inputs, policy);
    return {
      ...common,
      mode: out.mode,
      plan: out.plan,
      reason: out.reason,
      inputs: readings,
      changed: !samePlan(previous?.plan, out.plan),
      state: out.state,
    };
  }
  const prevState = prev?.state.kind === 'default' ? prev.state : initialDefaultState();
  const out = decideDefault(prevState, prev?.plan ?? previous?.plan, prev?.atMs, inputs, nowMs, policy);
  return {
    ...common,
    mode: out.mode,
    plan: out.plan,
    reason: out.reason,
    inputs: { ...readings, ...out.readings },
    changed: !samePlan(previous?.plan, out.plan),
    ...(out.autoscaler ? { autoscaler: out.autoscaler } : {}),
    ...(out.loadFollowUp ? { loadFollowUp: out.loadFollowUp } : {}),
    state: out.state,
  };
}
