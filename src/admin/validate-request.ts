// Argument checks for admin calls. Each failure names the field, so the operator sees exactly which
// argument to fix (INVALID_ARGUMENT: `endpoint: "10.0.0.9:80" is not an in-house endpoint of service "echo"`).
import { durationMs } from '../core/duration.js';
import type { InHouseEndpoint, ServiceConfig } from '../config/config-types.js';
import type { Duration__Output } from '../generated/google/protobuf/Duration.js';
import { endpointKey } from '../model/cordons.js';
import { MAX_OVERRIDE_MS } from '../control/override-store.js';
import { LIMIT_PATHS } from '../config/security-config.js';

export class InvalidArgument extends Error {}

/** A client's string as quoted back in an error: long ones are cut, so an error never echoes a flood. */
const quote = (s: string): string => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);

export function requireService(services: readonly ServiceConfig[], name: string): ServiceConfig {
  if (!name) throw new InvalidArgument('service: required');
  const s = services.find((x) => x.name === name);
  if (!s)
    throw new InvalidArgument(`service: ${quote(name)} is not a configured service (have: ${services.map((x) => x.name).join(', ')})`);
  return s;
}

/** `endpoint` must be one of the service's in-house endpoints in force (static or discovered). */
export function requireInHouseEndpoint(service: ServiceConfig, inHouse: readonly InHouseEndpoint[], endpoint: string): string {
  if (!endpoint) throw new InvalidArgument('endpoint: required ("address:port" of an in-house endpoint)');
  const known = inHouse.map((e) => endpointKey(e.address, e.port));
  if (!known.includes(endpoint)) {
    throw new InvalidArgument(
      `endpoint: ${quote(endpoint)} is not an in-house endpoint of service "${service.name}" (have: ${known.join(', ')})`,
    );
  }
  return endpoint;
}

export function requireShare(service: ServiceConfig, share: number): number {
  if (!Number.isFinite(share) || share < 0 || share > 1) throw new InvalidArgument('share: must be between 0 and 1');
  if (share > 0 && !service.modal) throw new InvalidArgument(`share: service "${service.name}" has no Modal endpoint; only 0 can be set`);
  return share;
}

/** The override's duration in ms: required, positive, at most MAX_OVERRIDE_MS. */
export function requireDuration(d: Duration__Output | null | undefined): number {
  if (!d) throw new InvalidArgument('duration: required (e.g. "600s"); overrides always expire');
  const ms = durationMs(d);
  if (ms === undefined || ms <= 0) throw new InvalidArgument('duration: must be positive');
  if (ms > MAX_OVERRIDE_MS) throw new InvalidArgument(`duration: must be at most ${MAX_OVERRIDE_MS / 3_600_000}h`);
  return ms;
}

/** Free text for the log and GetState: at most admin.limits.max_reason_bytes. */
export function requireReason(reason: string, maxBytes: number): string {
  const n = Buffer.byteLength(reason, 'utf8');
  if (n > maxBytes) throw new InvalidArgument(`reason: ${n} bytes; ${LIMIT_PATHS.admin.maxReasonBytes} = ${maxBytes}`);
  return reason;
}
