// Spillway's operating state: what it decided and was told at run time, beyond its configuration,
// kept so that a restart resumes instead of starting over. One versioned JSON document; stores
// (state-store.ts) only move its text, and restore (state-restore.ts) decides what of it still holds.
import { CordonState } from '../model/cordons.js';
import { readPlan, type TrafficPlan } from '../model/traffic-plan.js';
import { decodeJson, JsonShapeError, num, obj, oneOf, str, strList, time } from '../core/json-read.js';
import { PlanSource } from './plan-router.js';

export const STATE_SCHEMA = 'spillway.operating-state';
/** Bumped on any change a reader of the previous version would misread; older versions are refused, not guessed at. */
export const STATE_VERSION = 1;

export interface OperatingState {
  schema: typeof STATE_SCHEMA;
  version: typeof STATE_VERSION;
  /** When the document was written (ms since the epoch, Spillway's clock). */
  savedAtMs: number;
  services: Record<string, ServiceOperatingState>;
}

export interface ServiceOperatingState {
  /** The plan published for the service, who set it and since when; absent while it runs its static plan. */
  plan?: { plan: TrafficPlan; source: PlanSource; sinceMs: number };
  /** Cordoned in-house endpoints, by "address:port", and since when. */
  cordons: Record<string, { state: CordonState; sinceMs: number }>;
  /** An operator override and its bounds. */
  override?: { share: number; reason: string; setAtMs: number; expiresAtMs: number };
  /**
   * The capacity controller's memory: its last Decision (plan, mode, and the policy state — demand
   * signals, hold window, drain, pre-warm intent, cost budget) as plain JSON, and the last time the
   * controller stood behind it. Its shape belongs to the capacity model; restore checks it against
   * the running model's own (state-restore.ts).
   */
  controller?: { decision: unknown; asOfMs: number };
  /** The address the Modal hostname last resolved to, and since when it has. */
  modalAddress?: { hostname: string; ips: string[]; sinceMs: number };
}

export function emptyOperatingState(savedAtMs: number): OperatingState {
  return { schema: STATE_SCHEMA, version: STATE_VERSION, savedAtMs, services: {} };
}

export function encodeOperatingState(state: OperatingState): string {
  return `${JSON.stringify(state, null, 1)}\n`;
}

export type DecodeResult = { ok: true; state: OperatingState } | { ok: false; error: string };

/** Parses and checks a document; the first problem is reported with its path. Never throws for a bad document. */
export function decodeOperatingState(text: string): DecodeResult {
  const r = decodeJson(text, readState);
  return r.ok ? { ok: true, state: r.value } : r;
}

function readState(raw: unknown): OperatingState {
  const o = obj(raw, '(document)');
  if (o['schema'] !== STATE_SCHEMA) throw new JsonShapeError(`schema: expected "${STATE_SCHEMA}", got ${JSON.stringify(o['schema'])}`);
  if (o['version'] !== STATE_VERSION) {
    throw new JsonShapeError(
      `version: this Spillway reads version ${STATE_VERSION}, the document is version ${JSON.stringify(o['version'])}`,
    );
  }
  const services: Record<string, ServiceOperatingState> = {};
  for (const [name, v] of Object.entries(obj(o['services'], 'services'))) services[name] = readService(v, `services.${name}`);
  return { schema: STATE_SCHEMA, version: STATE_VERSION, savedAtMs: time(o['savedAtMs'], 'savedAtMs'), services };
}

function readService(raw: unknown, path: string): ServiceOperatingState {
  const o = obj(raw, path);
  const out: ServiceOperatingState = { cordons: {} };
  for (const [endpoint, v] of Object.entries(obj(o['cordons'] ?? {}, `${path}.cordons`))) {
    const c = obj(v, `${path}.cordons["${endpoint}"]`);
    out.cordons[endpoint] = {
      state: oneOf(c['state'], Object.values(CordonState), `${path}.cordons["${endpoint}"].state`),
      sinceMs: time(c['sinceMs'], `${path}.cordons["${endpoint}"].sinceMs`),
    };
  }
  if (o['plan'] !== undefined) {
    const p = obj(o['plan'], `${path}.plan`);
    out.plan = {
      plan: readPlan(p['plan'], `${path}.plan.plan`),
      source: oneOf(p['source'], Object.values(PlanSource), `${path}.plan.source`),
      sinceMs: time(p['sinceMs'], `${path}.plan.sinceMs`),
    };
  }
  if (o['override'] !== undefined) {
    const v = obj(o['override'], `${path}.override`);
    const share = num(v['share'], `${path}.override.share`);
    if (share < 0 || share > 1) throw new JsonShapeError(`${path}.override.share: must be between 0 and 1, got ${share}`);
    out.override = {
      share,
      reason: str(v['reason'], `${path}.override.reason`),
      setAtMs: time(v['setAtMs'], `${path}.override.setAtMs`),
      expiresAtMs: time(v['expiresAtMs'], `${path}.override.expiresAtMs`),
    };
  }
  if (o['controller'] !== undefined) {
    const c = obj(o['controller'], `${path}.controller`);
    if (c['decision'] === undefined) throw new JsonShapeError(`${path}.controller.decision: missing`);
    out.controller = { decision: c['decision'], asOfMs: time(c['asOfMs'], `${path}.controller.asOfMs`) };
  }
  if (o['modalAddress'] !== undefined) {
    const a = obj(o['modalAddress'], `${path}.modalAddress`);
    out.modalAddress = {
      hostname: str(a['hostname'], `${path}.modalAddress.hostname`),
      ips: strList(a['ips'], `${path}.modalAddress.ips`),
      sinceMs: time(a['sinceMs'], `${path}.modalAddress.sinceMs`),
    };
  }
  return out;
}
