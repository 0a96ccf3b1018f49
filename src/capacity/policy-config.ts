// Per-service capacity policy config: the snake_case schema as written in the config file, its
// defaults, and a validator whose errors name the field path (e.g.
// `services[0].capacity.start_utilization: must be between 0 and 1`). Pure; the config owner plugs it in.

export type PolicyName = 'seed' | 'default';
export type UnobservableMode = 'zero' | 'decay';

/** Resolved policy (camelCase, every field set). Times in ms, rates per second. */
export interface CapacityPolicy {
  policy: PolicyName;
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
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface DefaultPolicyConfig {
  /** In-house utilisation the spill aims to keep (ρ*). */
  targetUtilization: number;
  /** In-house utilisation above which the excess is shed when Modal is full too. */
  maxUtilization: number;
  fastWindowMs: number;
  slowWindowMs: number;
  /** Max Modal share increase per second (fast up). */
  slewUpPerS: number;
  /** Max Modal share decrease per second (slow down). */
  slewDownPerS: number;
  /** On the way down, follow the max target seen over this window. */
  holdMs: number;
  /** Share changes smaller than this are not published. */
  deadBand: number;
  /** Integral gain of the trim on measured in-house concurrency, per second. */
  trimGain: number;
  /** Bound on |trim| (fraction of in-house capacity). */
  trimLimit: number;
  /** Inputs a cold Modal tier may be sent to wake it (bounded probe). */
  probeInputs: number;
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
  policy: 'default',
  inHouseServiceTimeMs: 100,
  modalServiceTimeMs: 130,
  staleAfterMs: 15_000,
  failAfterErrors: 3,
  seed: {
    startUtilization: 0.85,
    stopUtilization: 0.6,
    warmupContainers: 1,
    smoothing: 0.5,
    backoffBaseMs: 3_000,
    backoffMaxMs: 60_000,
  },
  default: {
    targetUtilization: 0.8,
    maxUtilization: 0.95,
    fastWindowMs: 5_000,
    slowWindowMs: 20_000,
    slewUpPerS: 0.5,
    slewDownPerS: 0.02,
    holdMs: 30_000,
    deadBand: 0.03,
    trimGain: 0.02,
    trimLimit: 0.3,
    probeInputs: 2,
    unobservable: 'decay',
    decayTauMs: 180_000,
    maxModalErrorRatio: 0.05,
    drainMs: 20_000,
    drainMaxMs: 160_000,
    shed: true,
    prewarm: { enabled: true, horizonMs: 20_000, baseMinContainers: 0, cooldownMs: 60_000 },
    costCapContainerSecondsPerHour: null,
  },
};

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads fields from one raw object, collecting errors with their full path. */
class Reader {
  constructor(
    readonly raw: Obj,
    private readonly path: string,
    private readonly errors: string[],
  ) {}

  num(key: string, dflt: number, check: (v: number) => string | null): number {
    const v = this.raw[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.errors.push(`${this.path}.${key}: must be a number, got ${JSON.stringify(v)}`);
      return dflt;
    }
    const msg = check(v);
    if (msg) this.errors.push(`${this.path}.${key}: ${msg}, got ${v}`);
    return v;
  }

  oneOf<T extends string>(key: string, dflt: T, allowed: readonly T[]): T {
    const v = this.raw[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.errors.push(`${this.path}.${key}: must be one of ${allowed.join(', ')}`);
      return dflt;
    }
    return v as T;
  }

  bool(key: string, dflt: boolean): boolean {
    const v = this.raw[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') {
      this.errors.push(`${this.path}.${key}: must be true or false`);
      return dflt;
    }
    return v;
  }

  child(key: string): Reader {
    const v = this.raw[key];
    if (v === undefined) return new Reader({}, `${this.path}.${key}`, this.errors);
    if (!isObj(v)) {
      this.errors.push(`${this.path}.${key}: must be a mapping`);
      return new Reader({}, `${this.path}.${key}`, this.errors);
    }
    return new Reader(v, `${this.path}.${key}`, this.errors);
  }

  unknownKeys(known: readonly string[]): void {
    for (const k of Object.keys(this.raw)) {
      if (!known.includes(k)) this.errors.push(`${this.path}.${k}: unknown field`);
    }
  }
}

const fraction = (v: number): string | null => (v >= 0 && v <= 1 ? null : 'must be between 0 and 1');
const openFraction = (v: number): string | null => (v > 0 && v <= 1 ? null : 'must be > 0 and ≤ 1');
const positive = (v: number): string | null => (v > 0 ? null : 'must be > 0');
const nonNegative = (v: number): string | null => (v >= 0 ? null : 'must be ≥ 0');
const nonNegInt = (v: number): string | null =>
  Number.isInteger(v) && v >= 0 ? null : 'must be an integer ≥ 0';
const posInt = (v: number): string | null => (Number.isInteger(v) && v >= 1 ? null : 'must be an integer ≥ 1');

/**
 * Validates the raw `capacity` mapping of one service and fills defaults.
 * `path` prefixes every error, e.g. `services[0].capacity`.
 */
export function validateCapacityConfig(raw: unknown, path = 'capacity'): ValidationResult<CapacityPolicy> {
  const errors: string[] = [];
  if (raw !== undefined && !isObj(raw)) return { ok: false, errors: [`${path}: must be a mapping`] };
  const r = new Reader(raw ?? {}, path, errors);
  const d = DEFAULT_POLICY;
  r.unknownKeys([
    'policy', 'in_house_service_time_ms', 'modal_service_time_ms', 'stale_after_ms', 'fail_after_errors',
    'start_utilization', 'stop_utilization', 'warmup_containers', 'seed_smoothing', 'backoff_base_ms',
    'backoff_max_ms', 'target_utilization', 'max_utilization', 'fast_window_ms', 'slow_window_ms',
    'slew_up_per_s', 'slew_down_per_s', 'hold_ms', 'dead_band', 'trim_gain', 'trim_limit', 'probe_inputs',
    'unobservable', 'decay_tau_ms', 'max_modal_error_ratio', 'drain_ms', 'drain_max_ms', 'shed', 'prewarm',
    'cost_cap_container_seconds_per_hour',
  ]);
  const seed: SeedPolicyConfig = {
    startUtilization: r.num('start_utilization', d.seed.startUtilization, openFraction),
    stopUtilization: r.num('stop_utilization', d.seed.stopUtilization, fraction),
    warmupContainers: r.num('warmup_containers', d.seed.warmupContainers, nonNegInt),
    smoothing: r.num('seed_smoothing', d.seed.smoothing, openFraction),
    backoffBaseMs: r.num('backoff_base_ms', d.seed.backoffBaseMs, positive),
    backoffMaxMs: r.num('backoff_max_ms', d.seed.backoffMaxMs, positive),
  };
  if (seed.stopUtilization >= seed.startUtilization) {
    errors.push(`${path}.stop_utilization: must be below start_utilization`);
  }
  if (seed.backoffMaxMs < seed.backoffBaseMs) errors.push(`${path}.backoff_max_ms: must be ≥ backoff_base_ms`);
  const pw = r.child('prewarm');
  pw.unknownKeys(['enabled', 'horizon_ms', 'base_min_containers', 'cooldown_ms']);
  const cap = r.raw['cost_cap_container_seconds_per_hour'];
  const dflt: DefaultPolicyConfig = {
    targetUtilization: r.num('target_utilization', d.default.targetUtilization, openFraction),
    maxUtilization: r.num('max_utilization', d.default.maxUtilization, openFraction),
    fastWindowMs: r.num('fast_window_ms', d.default.fastWindowMs, positive),
    slowWindowMs: r.num('slow_window_ms', d.default.slowWindowMs, positive),
    slewUpPerS: r.num('slew_up_per_s', d.default.slewUpPerS, positive),
    slewDownPerS: r.num('slew_down_per_s', d.default.slewDownPerS, positive),
    // Bounded: the hold keeps one target per tick for this long.
    holdMs: r.num('hold_ms', d.default.holdMs, (v) => (v < 0 || v > 3_600_000 ? 'must be between 0 and 3600000 (one hour)' : null)),
    deadBand: r.num('dead_band', d.default.deadBand, (v) => (v >= 0 && v < 0.5 ? null : 'must be between 0 and 0.5')),
    trimGain: r.num('trim_gain', d.default.trimGain, nonNegative),
    trimLimit: r.num('trim_limit', d.default.trimLimit, fraction),
    probeInputs: r.num('probe_inputs', d.default.probeInputs, nonNegInt),
    unobservable: r.oneOf('unobservable', d.default.unobservable, ['zero', 'decay'] as const),
    decayTauMs: r.num('decay_tau_ms', d.default.decayTauMs, positive),
    maxModalErrorRatio: r.num('max_modal_error_ratio', d.default.maxModalErrorRatio, fraction),
    drainMs: r.num('drain_ms', d.default.drainMs, nonNegative),
    drainMaxMs: r.num('drain_max_ms', d.default.drainMaxMs, nonNegative),
    shed: r.bool('shed', d.default.shed),
    prewarm: {
      enabled: pw.bool('enabled', d.default.prewarm.enabled),
      horizonMs: pw.num('horizon_ms', d.default.prewarm.horizonMs, nonNegative),
      baseMinContainers: pw.num('base_min_containers', d.default.prewarm.baseMinContainers, nonNegInt),
      cooldownMs: pw.num('cooldown_ms', d.default.prewarm.cooldownMs, nonNegative),
    },
    costCapContainerSecondsPerHour:
      cap === undefined || cap === null ? null : r.num('cost_cap_container_seconds_per_hour', 0, positive),
  };
  if (dflt.maxUtilization < dflt.targetUtilization) {
    errors.push(`${path}.max_utilization: must be ≥ target_utilization`);
  }
  if (dflt.slowWindowMs < dflt.fastWindowMs) errors.push(`${path}.slow_window_ms: must be ≥ fast_window_ms`);
  if (dflt.drainMaxMs < dflt.drainMs) errors.push(`${path}.drain_max_ms: must be ≥ drain_ms`);
  const value: CapacityPolicy = {
    policy: r.oneOf('policy', d.policy, ['seed', 'default'] as const),
    inHouseServiceTimeMs: r.num('in_house_service_time_ms', d.inHouseServiceTimeMs, positive),
    modalServiceTimeMs: r.num('modal_service_time_ms', d.modalServiceTimeMs, positive),
    staleAfterMs: r.num('stale_after_ms', d.staleAfterMs, positive),
    failAfterErrors: r.num('fail_after_errors', d.failAfterErrors, posInt),
    seed,
    default: dflt,
  };
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value };
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
