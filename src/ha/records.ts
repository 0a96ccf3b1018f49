// The values kept under the group's keys (keys.ts), as JSON. Each part of the operating state has the
// shape a single Spillway saves for a warm restart — a plan with its source and age, a cordon with its
// age, an override with its bounds, the controller's memory as its last Decision — one key per part,
// because different replicas write different parts. Decoding checks every field and names the first
// bad one; a bad value is logged and ignored, never applied.
import type { Decision } from '../capacity/types.js';
import { CordonState } from '../model/cordons.js';
import { ModalHealth, type TrafficPlan } from '../model/traffic-plan.js';

/** Who wrote a leader-only value, and under which fencing token (the leader's election revision). */
export interface Writer {
  leader: string;
  epoch: string;
}

export interface ElectionRecord {
  replica: string;
}

export interface MemberRecord {
  replica: string;
  xds: string;
  admin: string;
  startedAtMs: number;
  /** Hash of the services configuration: replicas serving different configs cannot serve identical resources. */
  configHash: string;
}

/** plans/<service>: the plan every replica publishes for the service, and the decision that made it. */
export interface PlanRecord extends Writer {
  plan: TrafficPlan;
  /** When this plan was first published. */
  sinceMs: number;
  decision: Decision;
}

/** controller/<service>: the controller's memory, and the last time the leader stood behind it. */
export interface ControllerRecord extends Writer {
  decision: Decision;
  asOfMs: number;
}

/** autoscaler/<service>: what the leader sent Modal's autoscaler and what Modal reported back. */
export interface AutoscalerRecord extends Writer {
  intended: { minContainers?: number };
  sentAtMs: number;
  /** Absent while the update is on the wire (or when its outcome is unknown). */
  applied?: { minContainers?: number; maxContainers?: number; bufferContainers?: number; scaledownWindowMs?: number };
  appliedAtMs?: number;
}

export interface ModalAddressRecord extends Writer {
  hostname: string;
  /** Every address the hostname resolved to (sorted). */
  addresses: string[];
  sinceMs: number;
}

export interface CordonRecord {
  state: CordonState;
  sinceMs: number;
  reason: string;
  /** The replica the operator called. */
  by: string;
}

export interface OverrideRecord {
  share: number;
  reason: string;
  setAtMs: number;
  expiresAtMs: number;
  by: string;
}

export function encodeRecord(value: unknown): string {
  return JSON.stringify(value);
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

class Bad extends Error {}

function decode<T>(text: string, read: (o: Record<string, unknown>) => T): Decoded<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  try {
    return { ok: true, value: read(obj(raw, '(value)')) };
  } catch (err) {
    if (err instanceof Bad) return { ok: false, error: err.message };
    throw err;
  }
}

export const decodeElection = (t: string): Decoded<ElectionRecord> => decode(t, (o) => ({ replica: str(o, 'replica') }));

export const decodeMember = (t: string): Decoded<MemberRecord> =>
  decode(t, (o) => ({
    replica: str(o, 'replica'),
    xds: str(o, 'xds'),
    admin: str(o, 'admin'),
    startedAtMs: time(o, 'startedAtMs'),
    configHash: str(o, 'configHash'),
  }));

export const decodePlan = (t: string, service: string): Decoded<PlanRecord> =>
  decode(t, (o) => ({
    ...writer(o),
    plan: readPlan(o['plan'], 'plan'),
    sinceMs: time(o, 'sinceMs'),
    decision: readDecision(o['decision'], service, 'decision'),
  }));

export const decodeController = (t: string, service: string): Decoded<ControllerRecord> =>
  decode(t, (o) => ({ ...writer(o), decision: readDecision(o['decision'], service, 'decision'), asOfMs: time(o, 'asOfMs') }));

export const decodeAutoscaler = (t: string): Decoded<AutoscalerRecord> =>
  decode(t, (o) => {
    const applied = o['applied'] === undefined ? undefined : settings(o['applied'], 'applied');
    return {
      ...writer(o),
      intended: settings(o['intended'], 'intended'),
      sentAtMs: time(o, 'sentAtMs'),
      ...(applied ? { applied, appliedAtMs: time(o, 'appliedAtMs') } : {}),
    };
  });

export const decodeModalAddress = (t: string): Decoded<ModalAddressRecord> =>
  decode(t, (o) => ({ ...writer(o), hostname: str(o, 'hostname'), addresses: strList(o, 'addresses'), sinceMs: time(o, 'sinceMs') }));

export const decodeCordon = (t: string): Decoded<CordonRecord> =>
  decode(t, (o) => ({
    state: oneOf(o['state'], Object.values(CordonState), 'state'),
    sinceMs: time(o, 'sinceMs'),
    reason: typeof o['reason'] === 'string' ? o['reason'] : '',
    by: str(o, 'by'),
  }));

export const decodeOverride = (t: string): Decoded<OverrideRecord> =>
  decode(t, (o) => {
    const share = num(o, 'share');
    if (share < 0 || share > 1) throw new Bad(`share: must be between 0 and 1, got ${share}`);
    const setAtMs = time(o, 'setAtMs');
    const expiresAtMs = time(o, 'expiresAtMs');
    if (expiresAtMs < setAtMs) throw new Bad('expiresAtMs: before setAtMs');
    return { share, reason: typeof o['reason'] === 'string' ? o['reason'] : '', setAtMs, expiresAtMs, by: str(o, 'by') };
  });

function writer(o: Record<string, unknown>): Writer {
  return { leader: str(o, 'leader'), epoch: str(o, 'epoch') };
}

/** A traffic plan as the plan contract states it; the publisher validates the rest before serving it. */
function readPlan(raw: unknown, path: string): TrafficPlan {
  const p = obj(raw, path);
  const weight = (k: string): number => {
    const v = num(p, k, path);
    if (!Number.isInteger(v) || v < 0) throw new Bad(`${path}.${k}: must be a whole number ≥ 0, got ${v}`);
    return v;
  };
  const dropPercent = num(p, 'dropPercent', path);
  if (dropPercent < 0 || dropPercent > 100) throw new Bad(`${path}.dropPercent: must be between 0 and 100, got ${dropPercent}`);
  return {
    inHouseWeight: weight('inHouseWeight'),
    modalWeight: weight('modalWeight'),
    modalHealth: oneOf(p['modalHealth'], Object.values(ModalHealth), `${path}.modalHealth`),
    dropPercent,
  };
}

/**
 * A Decision of the capacity model, carried as data: its plan, mode and reason are checked (they are
 * published and shown); its policy state is the model's own and goes back to decide() as it came.
 */
function readDecision(raw: unknown, service: string, path: string): Decision {
  const d = obj(raw, path);
  if (d['service'] !== service) throw new Bad(`${path}.service: expected "${service}", got ${JSON.stringify(d['service'])}`);
  readPlan(d['plan'], `${path}.plan`);
  time(d, 'atMs', path);
  str(d, 'policy', path);
  str(d, 'mode', path);
  str(d, 'reason', path);
  obj(d['inputs'], `${path}.inputs`);
  obj(d['state'], `${path}.state`);
  return d as unknown as Decision;
}

function settings(raw: unknown, path: string): AutoscalerRecord['applied'] & object {
  const o = obj(raw, path);
  const out: Record<string, number> = {};
  for (const k of ['minContainers', 'maxContainers', 'bufferContainers', 'scaledownWindowMs']) {
    if (o[k] === undefined) continue;
    const v = num(o, k, path);
    if (!Number.isInteger(v) || v < 0) throw new Bad(`${path}.${k}: must be a whole number ≥ 0, got ${v}`);
    out[k] = v;
  }
  return out;
}

function obj(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Bad(`${path}: must be an object`);
  return v as Record<string, unknown>;
}

function at(path: string | undefined, k: string): string {
  return path ? `${path}.${k}` : k;
}

function num(o: Record<string, unknown>, k: string, path?: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Bad(`${at(path, k)}: must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function time(o: Record<string, unknown>, k: string, path?: string): number {
  const n = num(o, k, path);
  if (n < 0) throw new Bad(`${at(path, k)}: must be a time in ms since the epoch, got ${n}`);
  return n;
}

function str(o: Record<string, unknown>, k: string, path?: string): string {
  const v = o[k];
  if (typeof v !== 'string' || v === '') throw new Bad(`${at(path, k)}: must be a non-empty string`);
  return v;
}

function strList(o: Record<string, unknown>, k: string, path?: string): string[] {
  const v = o[k];
  if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string' || x === ''))
    throw new Bad(`${at(path, k)}: must be a non-empty list of non-empty strings`);
  return v as string[];
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], path: string): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new Bad(`${path}: must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}
