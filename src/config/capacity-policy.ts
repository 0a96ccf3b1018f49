// Per-service capacity policy: the resolved types, their defaults, and the reader of the snake_case
// `capacity:` block (through the config's one Reader, so errors name the field path, e.g.
// `services[0].capacity.start_utilization: must be > 0 and ≤ 1, got 1.5`).
import { Reader, isObj, join, type NumberCheck, type Obj } from './reader.js';

/** The capacity policies Spillway implements. */
export const PolicyName = {
  /** The gateway sidecar the project started from: hysteresis on in-house utilization. */
  Seed: 'seed',
  /** Feed-forward on offered demand, capped by what Modal can serve now. */
  Default: 'default',
} as const;
export type PolicyName = (typeof PolicyName)[keyof typeof PolicyName];

/** What the default policy does while Modal's stats cannot be observed. */
export const UnobservableMode = {
  /** Remove Modal (fail safe). */
  Zero: 'zero',
  /** Keep spilling at the last verified capacity, decaying, while LRS shows Modal answering well. */
  Decay: 'decay',
} as const;
export type UnobservableMode = (typeof UnobservableMode)[keyof typeof UnobservableMode];

/** Resolved policy (camelCase, every field set). Times in ms, rates per second. */
export interface CapacityPolicy {
  name: PolicyName;
  /** Mean in-house service time at low load (Little's law: capacity rps = slots / service time). */
  inHouseServiceTimeMs: number;
  /** Mean Modal latency per request including the WAN round trip. */
  modalServiceTimeMs: number;
  /** Modal stats older than this are unobservable. */
  staleAfterMs: number;
  /** Consecutive failed polls that make Modal unobservable. */
  failAfterErrors: number;
  seed: SeedPolicyConfig;
  default: DefaultPolicyConfig;
}

export interface SeedPolicyConfig {
  startUtilization: number;
  stopUtilization: number;
  /** Containers' worth of slots advertised when Modal is cold (warm-up allowance). */
  warmupContainers: number;
  /** EWMA factor towards the target weight each tick (the seed smooths, then snaps to 0). */
  smoothing: number;
}

export interface DefaultPolicyConfig {
  /** In-house utilization the spill aims to keep (ρ*). */
  targetUtilization: number;
  /** In-house utilization above which what neither tier can take is shed at the edge. */
  maxUtilization: number;
  fastWindowMs: number;
  slowWindowMs: number;
  /** Spilling starts only when demand is this fraction over the in-house target (hysteresis). */
  startMargin: number;

  /** Share changes smaller than this are not published. */
  deadBand: number;
  /** Requests a cold Modal tier may have in flight while it wakes (bounded probe). */
  probeInputs: number;
  /** Modal's cold start (p90): how long a probe request waits for a container. */
  coldStartMs: number;
  /**
   * The longest a spilled request may wait inside Modal for a slot (a cold start included): Modal is
   * given what its containers, up or starting, will start serving within it, and never longer than
   * the service's route timeout allows. 0 = only warm slots and the cold probe.
   */
  modalWaitBudgetMs: number;
  unobservable: UnobservableMode;
  /** Time constant of the trusted Modal capacity decay while stats are unobservable (`decay`). */
  decayTauMs: number;
  /** Modal error ratio (LRS) above which `decay` gives up and zeroes. */
  maxModalErrorRatio: number;
  /** Soft-cordon (DEGRADED) window before the Modal locality is removed. */
  drainMs: number;
  /** Never wait longer than this for Modal in-flight work to finish once drained. */
  drainMaxMs: number;
  shed: boolean;
  prewarm: PrewarmConfig;
  /** Optional cost cap in Modal container-seconds per hour; null = none. */
  costCapContainerSecondsPerHour: number | null;
  /** The same cap as written in dollars per hour; the config reader converts it at the service's price. */
  costCapDollarsPerHour: number | null;
}

export interface PrewarmConfig {
  enabled: boolean;
  /** Look-ahead: Modal cold start (p90) plus loop delay. */
  horizonMs: number;
  /** min_containers Modal is released to after the cool-down. */
  baseMinContainers: number;
  /** Time without need before min_containers is released. */
  cooldownMs: number;
}

export const DEFAULT_POLICY: CapacityPolicy = {
  name: PolicyName.Default,
  inHouseServiceTimeMs: 100,
  modalServiceTimeMs: 130,
  staleAfterMs: 15_000,
  failAfterErrors: 3,
  seed: {
    startUtilization: 0.85,
    stopUtilization: 0.6,
    warmupContainers: 1,
    smoothing: 0.5,
  },
  default: {
    targetUtilization: 0.8,
    maxUtilization: 0.9,
    fastWindowMs: 5_000,
    slowWindowMs: 20_000,
    startMargin: 0.1,

    deadBand: 0.03,
    probeInputs: 2,
    coldStartMs: 8_000,
    modalWaitBudgetMs: 15_000,
    unobservable: 'decay',
    decayTauMs: 180_000,
    maxModalErrorRatio: 0.05,
    drainMs: 20_000,
    drainMaxMs: 160_000,
    shed: true,
    prewarm: { enabled: true, horizonMs: 20_000, baseMinContainers: 0, cooldownMs: 60_000 },
    costCapContainerSecondsPerHour: null,
    costCapDollarsPerHour: null,
  },
};

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };

const fraction: NumberCheck = (v) => (v >= 0 && v <= 1 ? null : 'must be between 0 and 1');
const openFraction: NumberCheck = (v) => (v > 0 && v <= 1 ? null : 'must be > 0 and ≤ 1');
const positive: NumberCheck = (v) => (v > 0 ? null : 'must be > 0');
const nonNegative: NumberCheck = (v) => (v >= 0 ? null : 'must be ≥ 0');
const nonNegInt: NumberCheck = (v) => (Number.isInteger(v) && v >= 0 ? null : 'must be an integer ≥ 0');
const posInt: NumberCheck = (v) => (Number.isInteger(v) && v >= 1 ? null : 'must be an integer ≥ 1');

const CAPACITY_KEYS = [
  'policy',
  'in_house_service_time_ms',
  'modal_service_time_ms',
  'stale_after_ms',
  'fail_after_errors',
  'start_utilization',
  'stop_utilization',
  'warmup_containers',
  'seed_smoothing',
  'target_utilization',
  'max_utilization',
  'fast_window_ms',
  'slow_window_ms',
  'start_margin',

  'dead_band',
  'probe_inputs',
  'cold_start_ms',
  'modal_wait_budget_ms',
  'unobservable',
  'decay_tau_ms',
  'max_modal_error_ratio',
  'drain_ms',
  'drain_max_ms',
  'shed',
  'prewarm',
  'cost_cap_container_seconds_per_hour',
  'cost_cap_dollars_per_hour',
] as const;

/**
 * Reads one service's `capacity` mapping (absent = every default) with the config's reader; problems
 * are added to the reader's errors. Returns undefined when the mapping itself is not one.
 */
export function readCapacityPolicy(r: Reader, raw: unknown, path: string): CapacityPolicy | undefined {
  const o = r.obj(raw, path, CAPACITY_KEYS);
  if (!o) return undefined;
  const d = DEFAULT_POLICY;
  const num = (key: string, def: number, check: NumberCheck, from: Obj = o, at = path): number => r.checked(from, key, at, def, check);
  const seed: SeedPolicyConfig = {
    startUtilization: num('start_utilization', d.seed.startUtilization, openFraction),
    stopUtilization: num('stop_utilization', d.seed.stopUtilization, fraction),
    warmupContainers: num('warmup_containers', d.seed.warmupContainers, nonNegInt),
    smoothing: num('seed_smoothing', d.seed.smoothing, openFraction),
  };
  if (seed.stopUtilization >= seed.startUtilization) r.fail(join(path, 'stop_utilization'), 'must be below start_utilization');
  const pwPath = join(path, 'prewarm');
  const pw = r.obj(o['prewarm'], pwPath, ['enabled', 'horizon_ms', 'base_min_containers', 'cooldown_ms']) ?? {};
  const cap = o['cost_cap_container_seconds_per_hour'];
  const capDollars = o['cost_cap_dollars_per_hour'];
  const defaults: DefaultPolicyConfig = {
    targetUtilization: num('target_utilization', d.default.targetUtilization, openFraction),
    maxUtilization: num('max_utilization', d.default.maxUtilization, openFraction),
    fastWindowMs: num('fast_window_ms', d.default.fastWindowMs, positive),
    slowWindowMs: num('slow_window_ms', d.default.slowWindowMs, positive),
    startMargin: num('start_margin', d.default.startMargin, (v) => (v >= 0 && v <= 0.5 ? null : 'must be between 0 and 0.5')),

    deadBand: num('dead_band', d.default.deadBand, (v) => (v >= 0 && v < 0.5 ? null : 'must be between 0 and 0.5')),
    probeInputs: num('probe_inputs', d.default.probeInputs, nonNegInt),
    coldStartMs: num('cold_start_ms', d.default.coldStartMs, positive),
    modalWaitBudgetMs: num('modal_wait_budget_ms', d.default.modalWaitBudgetMs, nonNegative),
    unobservable: r.oneOf(o, 'unobservable', path, d.default.unobservable, Object.values(UnobservableMode)),
    decayTauMs: num('decay_tau_ms', d.default.decayTauMs, positive),
    maxModalErrorRatio: num('max_modal_error_ratio', d.default.maxModalErrorRatio, fraction),
    drainMs: num('drain_ms', d.default.drainMs, nonNegative),
    drainMaxMs: num('drain_max_ms', d.default.drainMaxMs, nonNegative),
    shed: r.bool(o, 'shed', path, d.default.shed),
    prewarm: {
      enabled: r.bool(pw, 'enabled', pwPath, d.default.prewarm.enabled),
      horizonMs: num('horizon_ms', d.default.prewarm.horizonMs, nonNegative, pw, pwPath),
      baseMinContainers: num('base_min_containers', d.default.prewarm.baseMinContainers, nonNegInt, pw, pwPath),
      cooldownMs: num('cooldown_ms', d.default.prewarm.cooldownMs, nonNegative, pw, pwPath),
    },
    costCapContainerSecondsPerHour: cap === undefined || cap === null ? null : num('cost_cap_container_seconds_per_hour', 0, positive),
    costCapDollarsPerHour: capDollars === undefined || capDollars === null ? null : num('cost_cap_dollars_per_hour', 0, positive),
  };
  if (defaults.maxUtilization < defaults.targetUtilization) r.fail(join(path, 'max_utilization'), 'must be ≥ target_utilization');
  if (defaults.slowWindowMs < defaults.fastWindowMs) r.fail(join(path, 'slow_window_ms'), 'must be ≥ fast_window_ms');
  if (defaults.drainMaxMs < defaults.drainMs) r.fail(join(path, 'drain_max_ms'), 'must be ≥ drain_ms');
  return {
    name: r.oneOf(o, 'policy', path, d.name, Object.values(PolicyName)),
    inHouseServiceTimeMs: num('in_house_service_time_ms', d.inHouseServiceTimeMs, positive),
    modalServiceTimeMs: num('modal_service_time_ms', d.modalServiceTimeMs, positive),
    staleAfterMs: num('stale_after_ms', d.staleAfterMs, positive),
    failAfterErrors: num('fail_after_errors', d.failAfterErrors, posInt),
    seed,
    default: defaults,
  };
}

/** Reads a raw `capacity` mapping on its own (tests, simulator, benchmarks): every problem or the policy. */
export function validateCapacityConfig(raw: unknown, path = 'capacity'): ValidationResult<CapacityPolicy> {
  if (raw !== undefined && raw !== null && !isObj(raw)) return { ok: false, errors: [`${path}: must be a mapping`] };
  const r = new Reader();
  const value = readCapacityPolicy(r, raw, path);
  return r.errors.length > 0 || !value ? { ok: false, errors: r.errors } : { ok: true, value };
}

/** Builds a resolved policy from partial overrides (tests, simulator). */
export function makePolicy(
  overrides: Partial<Omit<CapacityPolicy, 'seed' | 'default'>> & {
    seed?: Partial<SeedPolicyConfig>;
    default?: Partial<Omit<DefaultPolicyConfig, 'prewarm'>> & { prewarm?: Partial<PrewarmConfig> };
  } = {},
): CapacityPolicy {
  const d = DEFAULT_POLICY;
  return {
    ...d,
    ...overrides,
    seed: { ...d.seed, ...overrides.seed },
    default: {
      ...d.default,
      ...overrides.default,
      prewarm: { ...d.default.prewarm, ...overrides.default?.prewarm },
    },
  };
}
