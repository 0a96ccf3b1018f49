// What the fake Modal knows: its functions (each an AutoscalerSim), the active faults and call counts.
// The gRPC control side and the HTTP web side both read and change this one object.
import type { Clock } from '../../src/core/clock.js';
import type { Scheduler } from '../../src/core/scheduler.js';
import {
  AutoscalerSim,
  type BillingView,
  type ContainerView,
  type FunctionSimConfig,
  type SimSettings,
  type SimStats,
} from './autoscaler-sim.js';
import type { Faults } from './faults.js';
import { MODAL_RATE_LIMIT, TokenBucket, type RateLimit } from './token-bucket.js';

export interface FakeFunctionSpec extends Partial<FunctionSimConfig> {
  appName: string;
  functionName: string;
}

/** Defaults: a Modal web function with @modal.concurrent(max_inputs=4, target_inputs=2), cold start 500 ms. */
export const DEFAULT_FUNCTION: FunctionSimConfig = {
  mode: 'function',
  maxInputs: 4,
  targetInputs: 2,
  minContainers: 0,
  maxContainers: 10,
  bufferContainers: 0,
  scaledownWindowMs: 60_000,
  coldStartMs: 500,
};

export interface FakeFunction {
  functionId: string;
  appId: string;
  appName: string;
  functionName: string;
  sim: AutoscalerSim;
}

export interface FakeFunctionState {
  functionId: string;
  appName: string;
  functionName: string;
  mode: FunctionSimConfig['mode'];
  maxInputs: number;
  targetInputs: number;
  settings: SimSettings;
  /** The stats the control side answers with right now (frozen ones under the statsFrozen fault). */
  reportedStats: SimStats;
  /** The simulation's true stats. */
  stats: SimStats;
  containers: ContainerView[];
  billing: BillingView;
}

/** One FunctionUpdateSchedulingParams call that changed something (read-backs, with no fields, are not listed). */
export interface AutoscalerUpdateCall {
  atMs: number;
  functionId: string;
  /** The x-modal-token-id the call carried: tells apart callers with different credentials (replicas in tests). */
  tokenId: string;
  settings: Partial<SimSettings>;
}

export interface FakeModalStateView {
  nowMs: number;
  faults: Faults;
  /** The workspace rate limit web requests are held to, and how many were refused (429). */
  rateLimit: RateLimit & { refused: number };
  rpcCalls: Record<string, number>;
  autoscalerUpdates: AutoscalerUpdateCall[];
  functions: FakeFunctionState[];
}

export class FakeModalState {
  readonly functions: FakeFunction[];
  private faults: Faults = {};
  private readonly frozen = new Map<string, SimStats>();
  readonly rpcCalls: Record<string, number> = {};
  readonly autoscalerUpdates: AutoscalerUpdateCall[] = [];
  /** The workspace's web request rate limit (shared by every function, as on Modal). */
  readonly rateLimiter: TokenBucket;

  constructor(
    specs: readonly FakeFunctionSpec[],
    readonly clock: Clock,
    readonly scheduler: Scheduler,
    rateLimit: RateLimit = MODAL_RATE_LIMIT,
  ) {
    this.rateLimiter = new TokenBucket(rateLimit, clock);
    this.functions = specs.map((spec, i) => {
      const { appName, functionName, ...overrides } = spec;
      const config: FunctionSimConfig = { ...DEFAULT_FUNCTION, ...definedOnly(overrides) };
      return {
        functionId: `fu-fake${i + 1}`,
        appId: `ap-fake${i + 1}`,
        appName,
        functionName,
        sim: new AutoscalerSim(config, clock, scheduler, `ta-${i + 1}-`),
      };
    });
  }

  byName(appName: string, functionName: string): FakeFunction | undefined {
    return this.functions.find((f) => f.appName === appName && f.functionName === functionName);
  }

  byId(functionId: string): FakeFunction | undefined {
    return this.functions.find((f) => f.functionId === functionId);
  }

  currentFaults(): Faults {
    return { ...this.faults };
  }

  /** Replaces the active faults; freezing captures every function's stats as of now. */
  setFaults(faults: Faults): void {
    if (faults.statsFrozen && !this.faults.statsFrozen) {
      for (const f of this.functions) this.frozen.set(f.functionId, f.sim.stats());
    }
    if (!faults.statsFrozen) this.frozen.clear();
    for (const f of this.functions) f.sim.setColdStartOverride(faults.coldStartMs);
    this.faults = { ...faults };
  }

  /** The stats the control side reports for a function. */
  reportedStats(f: FakeFunction): SimStats {
    return this.frozen.get(f.functionId) ?? f.sim.stats();
  }

  /** A deploy: Modal resets the autoscaler to the app's static configuration (update_autoscaler docstring). */
  redeploy(): void {
    for (const f of this.functions) {
      const { minContainers, maxContainers, bufferContainers, scaledownWindowMs } = f.sim.config;
      f.sim.updateSettings({ minContainers, maxContainers, bufferContainers, scaledownWindowMs });
    }
  }

  countCall(method: string): void {
    this.rpcCalls[method] = (this.rpcCalls[method] ?? 0) + 1;
  }

  /** Records an autoscaler update that set at least one field. */
  noteAutoscalerUpdate(functionId: string, tokenId: string, settings: Partial<SimSettings>): void {
    if (Object.keys(settings).length === 0) return;
    this.autoscalerUpdates.push({ atMs: this.clock.nowMs(), functionId, tokenId, settings });
  }

  view(): FakeModalStateView {
    return {
      nowMs: this.clock.nowMs(),
      faults: this.currentFaults(),
      rateLimit: this.rateLimiter.current(),
      rpcCalls: { ...this.rpcCalls },
      autoscalerUpdates: this.autoscalerUpdates.map((u) => ({ ...u, settings: { ...u.settings } })),
      functions: this.functions.map((f) => ({
        functionId: f.functionId,
        appName: f.appName,
        functionName: f.functionName,
        mode: f.sim.config.mode,
        maxInputs: f.sim.config.maxInputs,
        targetInputs: f.sim.config.targetInputs,
        settings: f.sim.currentSettings(),
        reportedStats: this.reportedStats(f),
        stats: f.sim.stats(),
        containers: f.sim.containerViews(),
        billing: f.sim.billing(),
      })),
    };
  }

  close(): void {
    for (const f of this.functions) f.sim.close();
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
