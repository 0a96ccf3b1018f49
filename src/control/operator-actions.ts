// The levers an operator pulls through the admin API: cordon an in-house endpoint, override a
// service's Modal share for a while. One process applies them to its own write side at once; a
// replica records them in etcd so every replica applies them (src/ha/replicated-actions.ts).
import type { CordonState } from '../model/cordons.js';
import type { OverrideResult, PlanRouter } from './plan-router.js';
import type { Publisher } from './publisher.js';

export type CordonResult = { ok: true } | { ok: false; errors: string[] };

export interface OperatorActions {
  /** Publishes the endpoint with the given state (undefined: HEALTHY again). */
  cordon(service: string, endpoint: string, state: CordonState | undefined, reason: string): Promise<CordonResult>;
  /** Pins the service's Modal share for durationMs (both already validated). */
  override(service: string, share: number, durationMs: number, reason: string): Promise<OverrideResult>;
  /** True when there was an override to clear. */
  clearOverride(service: string): Promise<boolean>;
}

/** The action could not be recorded now (replicas: etcd is unreachable); nothing changed anywhere. */
export class ActionUnavailable extends Error {}

/** A single Spillway: the action is this process's alone. */
export class LocalOperatorActions implements OperatorActions {
  constructor(
    private readonly publisher: Publisher,
    private readonly router: PlanRouter,
  ) {}

  cordon(service: string, endpoint: string, state: CordonState | undefined): Promise<CordonResult> {
    const r = this.publisher.setCordon(service, endpoint, state);
    return Promise.resolve(r.ok ? { ok: true } : { ok: false, errors: r.errors });
  }

  override(service: string, share: number, durationMs: number, reason: string): Promise<OverrideResult> {
    return Promise.resolve(this.router.override(service, share, durationMs, reason));
  }

  clearOverride(service: string): Promise<boolean> {
    return Promise.resolve(this.router.clear(service));
  }
}
