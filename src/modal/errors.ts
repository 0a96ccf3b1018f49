import { errorMessage } from '../core/errors.js';

/** A start-up problem with the Modal side (missing credentials, unknown function); names the service. */
export class ModalConfigError extends Error {
  constructor(
    readonly service: string,
    message: string,
  ) {
    super(`modal[${service}]: ${message}`);
    this.name = 'ModalConfigError';
  }
}

/** Raised when a stats call outlives the poller's per-call timeout. */
export class ModalTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`Modal stats call timed out after ${timeoutMs} ms`);
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

/** errorMessage() with secrets removed. */
export function safeErrorMessage(err: unknown, secrets: readonly string[]): string {
  return redactSecrets(errorMessage(err), secrets);
}
