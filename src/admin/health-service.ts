// grpc.health.v1.Health for the admin port, served by grpc-health-check's implementation.
// - "" (the overall name) is what a load balancer or an orchestrator probes: SERVING while Spillway
//   serves xDS from a consistent snapshot. It does not depend on Modal: during a Modal API outage the
//   in-house path must keep being served, which is exactly when pulling Spillway out would hurt.
// - One name per service carries decision freshness: a controller-driven service is NOT_SERVING until
//   its controller has decided from recent Modal stats, and again whenever those stats go stale (the
//   controller is then running its fail-safe). For dashboards and alerts, not for routing.
import type * as grpc from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import { Mode } from '../capacity/types.js';
import { silentLogger, type Logger } from '../core/logger.js';

export type Health = Extract<ServingStatus, 'SERVING' | 'NOT_SERVING'>;

export interface ServiceHealthInputs {
  name: string;
  /** True when the capacity controller drives this service. */
  controlled: boolean;
  /** The controller's latest mode; undefined before its first decision. */
  mode: Mode | undefined;
  /** Age of the last good Modal stats sample; undefined when there has been none. */
  modalStatsAgeMs: number | undefined;
}

export interface HealthInputs {
  /** A validated snapshot is in the cache and contains every configured service. */
  consistentSnapshot: boolean;
  /** Replicas: why this replica is degraded (undefined: it is not); absent for a single Spillway. */
  replication?: { degraded: string | undefined };
  services: readonly ServiceHealthInputs[];
  /** Older Modal stats than this are stale. */
  maxInputAgeMs: number;
}

/** The overall name is "": clients that check without a service name get the control plane's health. */
export const OVERALL = '';

/**
 * Replicas: NOT_SERVING while the replica is degraded (etcd unreachable, no leader, configurations
 * differ). Not part of the overall status: a replica that lost etcd still serves the last plan, which
 * is what Envoys should get. Service names cannot contain a dot, so this name is never a service's.
 */
export const REPLICATION = 'spillway.replication';

export function healthStatuses(inputs: HealthInputs): Map<string, Health> {
  const out = new Map<string, Health>();
  for (const s of inputs.services) {
    const fresh =
      !s.controlled ||
      (s.mode !== undefined && s.mode !== Mode.FailSafe && s.modalStatsAgeMs !== undefined && s.modalStatsAgeMs <= inputs.maxInputAgeMs);
    out.set(s.name, inputs.consistentSnapshot && fresh ? 'SERVING' : 'NOT_SERVING');
  }
  out.set(OVERALL, inputs.consistentSnapshot ? 'SERVING' : 'NOT_SERVING');
  if (inputs.replication) out.set(REPLICATION, inputs.replication.degraded === undefined ? 'SERVING' : 'NOT_SERVING');
  return out;
}

export class AdminHealth {
  private readonly impl = new HealthImplementation({ [OVERALL]: 'NOT_SERVING' });
  private readonly current = new Map<string, Health>([[OVERALL, 'NOT_SERVING']]);
  private readonly log: Logger;

  constructor(
    private readonly read: () => HealthInputs,
    logger: Logger = silentLogger,
  ) {
    this.log = logger.child({ component: 'health' });
  }

  addToServer(server: grpc.Server): void {
    this.impl.addToServer(server);
  }

  /** Recomputes every status; only changes reach Watch streams (and the log). */
  refresh(): void {
    for (const [name, status] of healthStatuses(this.read())) {
      if (this.current.get(name) === status) continue;
      const first = !this.current.has(name);
      this.current.set(name, status);
      this.impl.setStatus(name, status);
      if (!first || status === 'NOT_SERVING') this.log.info({ service: name || '(overall)', status }, 'health changed');
    }
  }

  status(name: string): Health | undefined {
    return this.current.get(name);
  }
}
