// Resuming after a restart: read the saved operating state (a document that cannot be read or
// understood is reported, naming where it is, and ignored — never fatal), decide what of it still
// holds (state-restore.ts), and hand each part to its owner before anything is served.
import type { ServiceConfig } from '../config/config-types.js';
import { errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { CordonState } from '../model/cordons.js';
import type { TrafficPlan } from '../model/traffic-plan.js';
import type { CapacityController } from './capacity-controller.js';
import { decodeOperatingState, type OperatingState } from './operating-state.js';
import type { OverrideStore } from './override-store.js';
import type { PlanRouter } from './plan-router.js';
import type { Publisher } from './publisher.js';
import { planRestore, type RestorePlan } from './state-restore.js';
import type { StateStore } from './state-store.js';

export interface Resumed {
  state: OperatingState;
  plan: RestorePlan;
}

/** The saved state and what of it holds now; undefined when there is none, or it is unusable (logged). */
export async function loadResume(
  store: StateStore,
  services: readonly ServiceConfig[],
  nowMs: number,
  logger: Logger = silentLogger,
): Promise<Resumed | undefined> {
  const log = logger.child({ component: 'state' });
  let text: string | undefined;
  try {
    text = await store.load();
  } catch (err) {
    log.error({ file: store.location, error: errorMessage(err) }, 'operating state unreadable; starting without it');
    return undefined;
  }
  if (text === undefined) {
    log.info({ file: store.location }, 'no saved operating state; starting from the configuration');
    return undefined;
  }
  const decoded = decodeOperatingState(text);
  if (!decoded.ok) {
    log.error(
      { file: store.location, error: decoded.error },
      'operating state not understood; starting without it (it is replaced at the next save)',
    );
    return undefined;
  }
  const plan = planRestore(decoded.state, services, nowMs);
  log.info(
    { file: store.location, savedAgoMs: Math.max(0, nowMs - decoded.state.savedAtMs), restored: plan.notes },
    'resuming from the saved operating state',
  );
  return { state: decoded.state, plan };
}

/** Plans, cordons and Modal addresses for the publisher's first snapshot. */
export function seedPublisher(publisher: Publisher, plan: RestorePlan | undefined): void {
  const plans = new Map<string, TrafficPlan>();
  const cordons = new Map<string, ReadonlyMap<string, CordonState>>();
  const modalIps = new Map<string, readonly string[]>();
  for (const s of plan?.services ?? []) {
    if (s.plan) plans.set(s.service, s.plan);
    if (s.cordons.size > 0) cordons.set(s.service, s.cordons);
    if (s.modalAddresses && s.modalAddresses.length > 0) modalIps.set(s.service, s.modalAddresses);
  }
  publisher.seed({ plans, cordons, modalIps });
}

/** Overrides for the time they have left, and the controller's memory for it and the plan router. */
export function seedControl(
  plan: RestorePlan | undefined,
  targets: { overrides: OverrideStore; router: PlanRouter; controller: CapacityController | undefined },
): void {
  for (const s of plan?.services ?? []) {
    if (s.override) targets.overrides.restore(s.override);
    if (s.controller && targets.controller) {
      targets.controller.seed(s.service, s.controller.decision, s.controller.asOfMs);
      targets.router.seedDecision(s.service, s.controller.decision);
    }
  }
}
