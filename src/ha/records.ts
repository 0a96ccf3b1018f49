// The values kept under the group's keys (keys.ts), as JSON. Each part of the operating state has the
// shape a single Spillway saves for a warm restart — a plan with its source and age, a cordon with its
// age, an override with its bounds, the controller's memory as its last Decision — one key per part,
// because different replicas write different parts. Decoding checks every field and names the first
// bad one; a bad value is logged and ignored, never applied.
import { upgradeSavedState } from '../capacity/default-policy.js';
import type { Decision } from '../capacity/types.js';
import { CordonState } from '../model/cordons.js';
import { readPlan, type TrafficPlan } from '../model/traffic-plan.js';
import { at, decodeJson, JsonShapeError, nonEmptyStr, nonEmptyStrList, num, obj, oneOf, time, wholeNumber } from '../core/json-read.js';

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

function decode<T>(text: string, read: (o: Record<string, unknown>) => T): Decoded<T> {
  return decodeJson(text, (raw) => read(obj(raw, '(value)')));
}

export const decodeElection = (t: string): Decoded<ElectionRecord> => decode(t, (o) => ({ replica: nonEmptyStr(o['replica'], 'replica') }));

export const decodeMember = (t: string): Decoded<MemberRecord> =>
  decode(t, (o) => ({
    replica: nonEmptyStr(o['replica'], 'replica'),
    xds: nonEmptyStr(o['xds'], 'xds'),
    admin: nonEmptyStr(o['admin'], 'admin'),
    startedAtMs: time(o['startedAtMs'], 'startedAtMs'),
    configHash: nonEmptyStr(o['configHash'], 'configHash'),
  }));

export const decodePlan = (t: string, service: string): Decoded<PlanRecord> =>
  decode(t, (o) => ({
    ...writer(o),
    plan: readPlan(o['plan'], 'plan'),
    sinceMs: time(o['sinceMs'], 'sinceMs'),
    decision: readDecision(o['decision'], service, 'decision'),
  }));

export const decodeController = (t: string, service: string): Decoded<ControllerRecord> =>
  decode(t, (o) => ({ ...writer(o), decision: readDecision(o['decision'], service, 'decision'), asOfMs: time(o['asOfMs'], 'asOfMs') }));

export const decodeAutoscaler = (t: string): Decoded<AutoscalerRecord> =>
  decode(t, (o) => {
    const applied = o['applied'] === undefined ? undefined : settings(o['applied'], 'applied');
    return {
      ...writer(o),
      intended: settings(o['intended'], 'intended'),
      sentAtMs: time(o['sentAtMs'], 'sentAtMs'),
      ...(applied ? { applied, appliedAtMs: time(o['appliedAtMs'], 'appliedAtMs') } : {}),
    };
  });

export const decodeModalAddress = (t: string): Decoded<ModalAddressRecord> =>
  decode(t, (o) => ({
    ...writer(o),
    hostname: nonEmptyStr(o['hostname'], 'hostname'),
    addresses: nonEmptyStrList(o['addresses'], 'addresses'),
    sinceMs: time(o['sinceMs'], 'sinceMs'),
  }));

export const decodeCordon = (t: string): Decoded<CordonRecord> =>
  decode(t, (o) => ({
    state: oneOf(o['state'], Object.values(CordonState), 'state'),
    sinceMs: time(o['sinceMs'], 'sinceMs'),
    reason: typeof o['reason'] === 'string' ? o['reason'] : '',
    by: nonEmptyStr(o['by'], 'by'),
  }));

export const decodeOverride = (t: string): Decoded<OverrideRecord> =>
  decode(t, (o) => {
    const share = num(o['share'], 'share');
    if (share < 0 || share > 1) throw new JsonShapeError(`share: must be between 0 and 1, got ${share}`);
    const setAtMs = time(o['setAtMs'], 'setAtMs');
    const expiresAtMs = time(o['expiresAtMs'], 'expiresAtMs');
    if (expiresAtMs < setAtMs) throw new JsonShapeError('expiresAtMs: before setAtMs');
    return { share, reason: typeof o['reason'] === 'string' ? o['reason'] : '', setAtMs, expiresAtMs, by: nonEmptyStr(o['by'], 'by') };
  });

function writer(o: Record<string, unknown>): Writer {
  return { leader: nonEmptyStr(o['leader'], 'leader'), epoch: nonEmptyStr(o['epoch'], 'epoch') };
}

/**
 * A Decision of the capacity model, carried as data: its plan, mode and reason are checked (they are
 * published and shown); its policy state is the model's own and goes back to decide() as it came.
 */
function readDecision(raw: unknown, service: string, path: string): Decision {
  const d = obj(raw, path);
  if (d['service'] !== service) throw new JsonShapeError(`${path}.service: expected "${service}", got ${JSON.stringify(d['service'])}`);
  readPlan(d['plan'], `${path}.plan`);
  time(d['atMs'], at(path, 'atMs'));
  nonEmptyStr(d['policy'], at(path, 'policy'));
  nonEmptyStr(d['mode'], at(path, 'mode'));
  nonEmptyStr(d['reason'], at(path, 'reason'));
  obj(d['inputs'], `${path}.inputs`);
  obj(d['state'], `${path}.state`);
  // A predecessor of an earlier version may have written it.
  upgradeSavedState(d['state']);
  return d as unknown as Decision;
}

function settings(raw: unknown, path: string): AutoscalerRecord['applied'] & object {
  const o = obj(raw, path);
  const out: Record<string, number> = {};
  for (const k of ['minContainers', 'maxContainers', 'bufferContainers', 'scaledownWindowMs']) {
    if (o[k] === undefined) continue;
    out[k] = wholeNumber(o[k], at(path, k));
  }
  return out;
}
