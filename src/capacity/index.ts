// Public surface of the capacity model and its controller loop.
export { decide } from './decide.js';
export { CapacityController, FakeAutoscalerActuator } from './controller.js';
export type { AutoscalerActuator, AutoscalerUpdate, CapacityControllerOptions, ServiceCapacityConfig } from './controller.js';
export { DEFAULT_POLICY, makePolicy, validateCapacityConfig } from './policy-config.js';
export type {
  CapacityPolicy, DefaultPolicyConfig, PolicyName, PrewarmConfig, SeedPolicyConfig, UnobservableMode, ValidationResult,
} from './policy-config.js';
export type {
  AutoscalerIntent, AutoscalerSettings, ControllerInputs, Decision, DefaultState, InputReading, Mode, PolicyState, SeedState,
} from './types.js';
export { seedFreeSlots } from './seed-policy.js';
