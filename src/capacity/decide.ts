// decide(previous, inputs, nowMs, policy) → Decision. Pure: no clock, no timers, no I/O.
import { decideDefault, initialDefaultState } from './default-policy.js';
import type { CapacityPolicy } from './policy-config.js';
import { decideSeed, initialSeedState } from './seed-policy.js';
import { baseReadings, samePlan } from './signals.js';
import type { ControllerInputs, Decision } from './types.js';

export function decide(
  previous: Decision | undefined,
  inputs: ControllerInputs,
  nowMs: number,
  policy: CapacityPolicy,
): Decision {
  // A policy switch (config reload) starts the new policy from a clean state.
  const prev = previous && previous.policy === policy.policy ? previous : undefined;
  const readings = baseReadings(inputs, nowMs);
  const common = { service: inputs.service, atMs: nowMs, policy: policy.policy };
  if (policy.policy === 'seed') {
    const prevState = prev?.state.kind === 'seed' ? prev.state : initialSeedState();
    const out = decideSeed(prevState, inputs, policy);
    return {
      ...common,
      mode: out.mode,
      plan: out.plan,
      reason: out.reason,
      inputs: readings,
      changed: !samePlan(previous?.plan, out.plan),
      ...(out.pollBackoffMs !== undefined ? { pollBackoffMs: out.pollBackoffMs } : {}),
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
    state: out.state,
  };
}
