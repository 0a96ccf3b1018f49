import { errorMessage } from '../core/errors.js';
import { ModalFailure } from '../model/inputs.js';

/**
 * A permanent problem with the Modal side (missing or rejected credentials, unknown function): retrying
 * cannot fix it. Names the service. At start-up it stops Spillway.
 */
export class ModalConfigError extends Error {
  constructor(
    readonly service: string,
    message: string,
  ) {
    super(`modal[${service}]: ${message}`);
    this.name = 'ModalConfigError';
  }
}

/**
 * A transient failure to reach Modal's API (unreachable, UNAVAILABLE, a timeout): worth retrying. Names
 * the service; Spillway keeps serving the service's fail-safe meanwhile.
 */
export class ModalUnavailableError extends Error {
  constructor(
    readonly service: string,
    message: string,
  ) {
    super(`modal[${service}]: ${message}`);
    this.name = 'ModalUnavailableError';
  }
}

/** A failed call to Modal's API: its text already redacted, and what kind of failure it was. */
export class ModalCallError extends Error {
  constructor(
    readonly failure: ModalFailure,
    message: string,
  ) {
    super(message);
    this.name = 'ModalCallError';
  }
}

/** The kind of failure an error from a Modal call stands for. */
export function modalFailureOf(err: unknown): ModalFailure {
  if (err instanceof ModalTimeoutError) return ModalFailure.Timeout;
  if (err instanceof ModalCallError) return err.failure;
  return ModalFailure.Other;
}

/** Raised when a call to Modal's API outlives Spillway's per-call limit (modal_api.timeout_ms). */
export class ModalTimeoutError extends Error {
  constructor(
    readonly timeoutMs: number,
    what: 'stats' | 'autoscaler',
  ) {
    super(`Modal ${what} call timed out after ${timeoutMs} ms`);
    this.name = 'ModalTimeoutError';
  }
}

/**
 * Replaces every occurrence of the given secrets in text. The adapter runs every message that leaves
 * it through this, so a server or SDK that echoes a token can't carry it into logs or admin output.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    // Very short values would blank out ordinary words; real Modal tokens are long.
    if (s.length >= 4) out = out.split(s).join('[redacted]');
  }
  return out;
}

/** errorMessage() with secrets and empty fragments removed. */
export function safeErrorMessage(err: unknown, secrets: readonly string[]): string {
  return tidyErrorText(redactSecrets(errorMessage(err), secrets));
}

/**
 * Removes grpc-js's label-only fragments from an error text: a connection failure ends in
 * "Resolution note: " with nothing after it (and can carry an empty "Last error: "), which reads as if
 * something was cut off.
 */
export function tidyErrorText(text: string): string {
  return text.replace(/[.;,]?\s*(?:Resolution note|Last error):\s*(?=$|[.;,]\s|\n)/g, '').trim();
}
