// What a restart may take back from the saved operating state, decided from the state, the
// configuration and the time alone (no store, no I/O):
// - the controller's memory and the plan it published: while younger than the service's
//   capacity.stale_after_ms; older memory is dropped and the policy starts from its fail-safe;
// - an operator override: until it expires, for the time it has left;
// - cordons: always (an operator's intent has no age), for endpoints still configured;
// - the Modal address: always, as a starting point, until the hostname resolves again.
import { decide } from '../capacity/decide.js';
import { upgradeSavedState } from '../capacity/default-policy.js';
import { Mode, type ControllerInputs, type Decision } from '../capacity/types.js';
import type { CapacityPolicy } from '../config/capacity-policy.js';
import type { ServiceConfig } from '../config/config-types.js';
import { type CordonState, endpointKey } from '../model/cordons.js';
import { planForShare, readPlan, shareOf, type TrafficPlan } from '../model/traffic-plan.js';
import { plainJsonProblem, shapeMismatch } from './json-shape.js';
import type { OperatingState, ServiceOperatingState } from './operating-state.js';
import type { ActiveOverride } from './override-store.js';
import { PlanSource } from './plan-router.js';

export interface RestoredService {
  service: string;
  /** The plan to publish before the first stream is served; absent: the static plan. */
  plan?: TrafficPlan;
  cordons: Map<string, CordonState>;
  override?: ActiveOverride;
  /** The controller's memory, to seed it and the plan router with. */
  controller?: { decision: Decision; asOfMs: number };
  /** The Modal hostname's addresses, until it resolves again. */
  modalAddresses?: string[];
}

export interface RestorePlan {
  services: RestoredService[];
  /** One line per item restored or dropped, with why: for the log. */
  notes: string[];
}

export function planRestore(state: OperatingState, services: readonly ServiceConfig[], nowMs: number): RestorePlan {
  const notes: string[] = [];
  const configured = new Set(services.map((s) => s.name));
  for (const name of Object.keys(state.services)) {
    if (!configured.has(name)) notes.push(`${name}: no longer configured; its saved state is dropped`);
  }
  const restored = services.flatMap((svc) => {
    const saved = state.services[svc.name];
    return saved ? [restoreService(svc, saved, nowMs, notes)] : [];
  });
  return { services: restored, notes };
}

function restoreService(svc: ServiceConfig, saved: ServiceOperatingState, nowMs: number, notes: string[]): RestoredService {
  const name = svc.name;
  const out: RestoredService = { service: name, cordons: new Map() };

  // A service with endpoint sources keeps every cordon: its discovered hosts are not known yet at
  // restore time, and a cordon on an endpoint that is not served is inert.
  const endpoints = new Set(svc.inHouse.map((e) => endpointKey(e.address, e.port)));
  const discovers = svc.inHouseSources.length > 0;
  for (const [endpoint, c] of Object.entries(saved.cordons)) {
    if (discovers || endpoints.has(endpoint)) out.cordons.set(endpoint, c.state);
    else notes.push(`${name}: cordon on ${endpoint} dropped (the endpoint is no longer configured)`);
  }
  if (out.cordons.size > 0) notes.push(`${name}: cordons restored: ${[...out.cordons].map(([e, s]) => `${e} ${s}`).join(', ')}`);

  const o = saved.override;
  if (o && o.expiresAtMs > nowMs) {
    out.override = { service: name, share: o.share, reason: o.reason, setAtMs: o.setAtMs, expiresAtMs: o.expiresAtMs };
    notes.push(`${name}: override to ${pct(o.share)} Modal restored for ${Math.round((o.expiresAtMs - nowMs) / 1000)} s more`);
  } else if (o) {
    notes.push(`${name}: override to ${pct(o.share)} Modal expired ${Math.round((nowMs - o.expiresAtMs) / 1000)} s ago; not restored`);
  }

  if (saved.controller) {
    const policy = svc.capacity;
    const age = Math.max(0, nowMs - saved.controller.asOfMs);
    if (!policy || !svc.modal) {
      notes.push(`${name}: controller memory dropped (no capacity controller drives the service now)`);
    } else if (age > policy.staleAfterMs) {
      notes.push(
        `${name}: controller memory ${Math.round(age / 1000)} s old, older than capacity.stale_after_ms (${policy.staleAfterMs} ms); the policy starts from its fail-safe`,
      );
    } else {
      const r = restoreDecision(saved.controller.decision, svc, policy, nowMs);
      if ('why' in r) {
        notes.push(`${name}: controller memory not restored: ${r.why}; the policy starts from its fail-safe`);
      } else {
        out.controller = { decision: r.decision, asOfMs: saved.controller.asOfMs };
        notes.push(
          `${name}: controller memory restored (${Math.round(age)} ms old: ${r.decision.mode}, Modal share ${pct(shareOf(r.decision.plan))})`,
        );
      }
    }
  }

  // The plan published before: what the router would publish for what was restored.
  if (out.override) out.plan = planForShare(out.override.share);
  else if (out.controller) out.plan = saved.plan?.source === PlanSource.Controller ? saved.plan.plan : out.controller.decision.plan;

  const a = saved.modalAddress;
  if (a && svc.modal && !svc.modal.connectAddress && a.hostname === svc.modal.hostname) {
    out.modalAddresses = [...a.ips];
    notes.push(`${name}: Modal addresses ${a.ips.join(', ')} restored until ${a.hostname} resolves again`);
  }
  return out;
}

/**
 * Accepts saved controller memory only when it is a Decision of the configured policy with the
 * shape the running capacity model gives its own memory (taken from a first decision of that model),
 * so memory saved by a build whose model differs is refused cleanly rather than fed to decide().
 */
export function restoreDecision(
  raw: unknown,
  svc: ServiceConfig,
  policy: CapacityPolicy,
  nowMs: number,
): { decision: Decision } | { why: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { why: 'the saved decision is not an object' };
  const d = raw as Record<string, unknown>;
  if (d['policy'] !== policy.name)
    return { why: `it was made by policy ${JSON.stringify(d['policy'])}, the service now runs ${policy.name}` };
  if (d['service'] !== svc.name) return { why: `it names service ${JSON.stringify(d['service'])}` };
  // Memory of an earlier version is brought to this one's shape first; the check refuses any other difference.
  upgradeSavedState(d['state']);
  let template: Record<string, unknown>;
  try {
    template = decide(undefined, probeInputs(svc), nowMs, policy) as unknown as Record<string, unknown>;
  } catch (err) {
    return { why: `the capacity model cannot show the shape of its memory: ${err instanceof Error ? err.message : String(err)}` };
  }
  // Fields that only some decisions carry.
  const optional = new Set(['autoscaler', 'loadFollowUp']);
  const keys = new Set([...Object.keys(template), ...Object.keys(d)]);
  for (const key of keys) {
    if (!(key in d)) {
      if (optional.has(key)) continue;
      return { why: `decision.${key}: missing` };
    }
    if (!(key in template) && !optional.has(key)) return { why: `decision.${key}: not part of this version's decision` };
  }
  try {
    readPlan(d['plan'], 'decision.plan');
  } catch (err) {
    return { why: err instanceof Error ? err.message : String(err) };
  }
  const problem =
    (typeof d['atMs'] === 'number' && Number.isFinite(d['atMs']) ? undefined : 'decision.atMs: expected a time') ??
    ((Object.values(Mode) as unknown[]).includes(d['mode']) ? undefined : `decision.mode: unknown mode ${JSON.stringify(d['mode'])}`) ??
    (typeof d['reason'] === 'string' ? undefined : 'decision.reason: expected a string') ??
    inputsProblem(d['inputs']) ??
    (d['autoscaler'] === undefined ? undefined : autoscalerProblem(d['autoscaler'])) ??
    (d['loadFollowUp'] === undefined ? undefined : shapeMismatch({ afterMs: 0, reason: '' }, d['loadFollowUp'], 'decision.loadFollowUp')) ??
    // The policy's memory: exactly the shape the running model keeps.
    shapeMismatch(template['state'], d['state'], 'decision.state') ??
    // Anything else a decision carries (fields added later): the template's shape.
    [...Object.keys(template)]
      .filter(
        (k) =>
          !['service', 'atMs', 'policy', 'mode', 'plan', 'reason', 'inputs', 'changed', 'autoscaler', 'loadFollowUp', 'state'].includes(k),
      )
      .map((k) => shapeMismatch(template[k], d[k], `decision.${k}`))
      .find((p) => p !== undefined) ??
    plainJsonProblem(d, 'decision');
  if (problem) return { why: problem };
  // Restored memory has published nothing new: the plan is already what Envoy runs.
  return { decision: { ...(d as unknown as Decision), changed: false } };
}

/** Inputs with no load and nothing observed: enough for the model to show the shape of its memory. */
function probeInputs(svc: ServiceConfig): ControllerInputs {
  return {
    service: svc.name,
    modalStats: { service: svc.name, consecutiveFailures: 0 },
    inHouseCapacity: svc.inHouse.reduce((n, e) => n + e.capacity, 0),
    modalMaxInputs: svc.modal?.maxInputs ?? 1,
    modalMaxContainers: svc.modal?.maxContainers ?? 1,
  };
}

function inputsProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'decision.inputs: expected an object';
  for (const [k, r] of Object.entries(v as Record<string, unknown>)) {
    const p = shapeMismatch({ value: 0, ageMs: null }, r, `decision.inputs.${k}`);
    if (p) return p;
  }
  return undefined;
}

function autoscalerProblem(v: unknown): string | undefined {
  const p = shapeMismatch({ minContainers: 0, reason: '' }, v, 'decision.autoscaler');
  if (p) return p;
  const min = (v as { minContainers: number }).minContainers;
  return Number.isInteger(min) && min >= 0 ? undefined : `decision.autoscaler.minContainers: expected a whole number ≥ 0, got ${min}`;
}

function pct(share: number): string {
  return `${(share * 100).toFixed(1)} %`;
}
