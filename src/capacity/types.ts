// Types shared by the capacity model (pure), its policies and the controller loop around it.
import type { LocalityLoad, ModalStatsStatus, ServiceDrops } from '../model/inputs.js';
import type { TrafficPlan } from '../model/traffic-plan.js';
import type { PolicyName } from '../config/capacity-policy.js';

/** Everything decide() reads for one service. Producers fill it; the model only reads it. */
export interface ControllerInputs {
  service: string;
  /** LRS load on the in-house locality (summed over Envoys); absent until the first report. */
  inHouse?: LocalityLoad;
  /** LRS load on the Modal locality; absent when no Envoy has reported it yet. */
  modal?: LocalityLoad;
  /** Requests Envoy dropped for the service (drop_overloads + breakers), per second. */
  drops?: ServiceDrops;
  /**
   * One standard deviation of offered_rps from counting alone (Poisson noise of the reports' counts
   * over their windows); absent or 0: treated as exact.
   */
  offeredNoiseRps?: number;
  /** The LRS interval Envoys are told (lrs.interval_ms); absent: inferred from the reports. */
  reportIntervalMs?: number;
  /** Modal stats feed: last good sample plus how polling is going. */
  modalStats: ModalStatsStatus;
  /** Sum of max concurrent requests over the healthy in-house endpoints. */
  inHouseCapacity: number;
  /** Sum of max_rps over the healthy in-house endpoints, when every endpoint states one. */
  inHouseMaxRps?: number;
  /** The service's capacity scaler (0–1, planned drains); 1 when absent. */
  capacityScaler?: number;
  /** Modal concurrency per container (`@modal.concurrent(max_inputs)`). */
  modalMaxInputs: number;
  /** Modal autoscaler target per container; defaults to max_inputs. */
  modalTargetInputs?: number;
  /** Modal's container ceiling. */
  modalMaxContainers: number;
  /** Modal's workspace rate limit, sustained requests per second: a ceiling on the Modal share (429 past it). */
  modalRateLimitRps?: number;
  /**
   * How long Envoy lets a request wait (ms; the shortest of the route's, a retry attempt's and the idle
   * timeout; absent or 0: none): one queued in Modal longer fails anyway.
   */
  requestDeadlineMs?: number;
}

/** What a decision does with a service's traffic. */
export const Mode = {
  /** Everything in-house (Modal locality absent). */
  InHouse: 'in-house',
  /** Part of the traffic goes to Modal. */
  Spilling: 'spilling',
  /** Modal is soft-cordoned (DEGRADED) while its in-flight work drains. */
  Draining: 'draining',
  /** Both tiers are full: the excess is dropped at the edge with fast 503s. */
  Shedding: 'shedding',
  /** Modal cannot be observed: the configured fail-safe applies. */
  FailSafe: 'fail-safe',
} as const;
export type Mode = (typeof Mode)[keyof typeof Mode];

/** One input the decision used: its value and how old it was (null when the input was absent). */
export interface InputReading {
  value: number;
  ageMs: number | null;
}

/** What the pre-warm logic wants Modal's autoscaler to be; the controller reconciles it. */
export interface AutoscalerIntent {
  minContainers: number;
  reason: string;
}

/** State the seed policy carries between ticks. */
export interface SeedState {
  kind: 'seed';
  spilling: boolean;
  /** EWMA-smoothed Modal weight share (0–1), snapped to 0 when the target is 0. */
  share: number;
  lastBacklog: number | null;
  lastSampleAtMs: number | null;
}

/** State the default policy carries between ticks. */
export interface DefaultState {
  kind: 'default';
  /** Fast and slow EWMAs of offered demand, rps. */
  lambdaFast: number;
  lambdaSlow: number;
  /** Smoothed slope of the fast demand signal, rps per second (pre-warm look-ahead). */
  lambdaTrend: number;
  /** The Modal share (of what Envoy does not drop) last decided, unquantised. */
  share: number;

  /** Last verified Modal capacity in inputs and when it was verified (for `decay`). */
  verifiedModalInputs: number;
  verifiedAtMs: number | null;
  /** Soft-cordon: when the current drain began; null when not draining. */
  drainStartedAtMs: number | null;
  /** Pre-warm: desired min_containers and when it was last raised (or found still needed). */
  prewarmMin: number;
  prewarmRaisedAtMs: number | null;
  /** When pre-warm last asked for more containers than before: they are coming for a cold start after it. */
  prewarmIncreasedAtMs: number | null;
  /** Decayed Modal container-seconds over roughly the last hour (cost cap). */
  containerSeconds: number;
  /**
   * Modal runners still cold-starting, as far as their count's rises show: when each group first
   * appeared in a sample plus the cold start. Counts as warm only runners older than that when
   * Modal's stats do not say which inputs are free (see modalWarmInputs).
   */
  startingRunners: StartingRunners;
  /** When LRS last showed the in-house backends refusing requests with a queue in flight (queue drain); null: never. */
  queueOverflowAtMs: number | null;
  /** The load report the demand averages last took in (its observedAtMs); null: none yet. */
  demandReportAtMs: number | null;
  /** How far apart the last two load reports came (ms); null until two have. */
  demandReportIntervalMs: number | null;
  /** The offered rate the last load report showed (rps); null: none yet. The follow-up rule compares a new report with it. */
  lastReportRps: number | null;
  /**
   * In-house requests in flight, averaged over recent load reports (τ FOLLOW_UP_IN_FLIGHT_TAU_MS);
   * null: no report yet. The follow-up rule compares a new report's gauge with it.
   */
  inHouseInFlightAvg: number | null;
  /** The load report (its observedAtMs) whose rise the in-house in-flight gauge corroborated; null: not the latest. */
  corroboratedReportAtMs: number | null;
  /** The offered rate of the report the plan last followed as a step (rps); null: the plan follows the average. */
  stepRps: number | null;
  /**
   * The first load report the averages started from (its observedAtMs): until they have run a few
   * windows, λ_fast is still mostly that one report and carries its noise. null: none yet, or memory
   * from a version that did not record it (averages long settled).
   */
  demandSinceMs: number | null;
}

export interface StartingRunners {
  /** Runner count and sample time last seen (null: no sample yet). */
  seen: number;
  seenAtMs: number | null;
  /** Groups that appeared together: how many, and when they are expected warm. */
  groups: Array<{ n: number; warmAtMs: number }>;
}

export type PolicyState = SeedState | DefaultState;

/** The model's output for one service at one instant. */
export interface Decision {
  service: string;
  atMs: number;
  policy: PolicyName;
  mode: Mode;
  plan: TrafficPlan;
  /** Human-readable explanation of the plan. */
  reason: string;
  /** The inputs used, with ages. */
  inputs: Record<string, InputReading>;
  /** True when plan differs from the previous decision's plan (the xDS layer needs a push). */
  changed: boolean;
  /** Desired Modal autoscaler settings (default policy with pre-warm); absent when not managed. */
  autoscaler?: AutoscalerIntent;
  /** Ask the Envoys for their next load report sooner (default policy): the last one looked like the start of a step. */
  loadFollowUp?: LoadFollowUp;
  state: PolicyState;
}

/** A second look at demand: the next LRS report from every Envoy `afterMs` from now, then the usual interval. */
export interface LoadFollowUp {
  afterMs: number;
  reason: string;
}
