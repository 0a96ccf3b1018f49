// The audit trail of admin mutations: one log line per attempt (cordon, override, clear), applied
// or refused, saying who (the token's name and the client certificate's identity, never the token),
// what (the call's arguments), when and the outcome. Lines carry `audit: true` and the component
// "audit", so they can be routed apart from the operational log.
import type { Logger } from '../core/logger.js';
import type { Caller } from './auth.js';

export interface AuditEntry {
  method: string;
  who: Caller;
  /** The call's arguments as understood (service, endpoint, share, duration, reason). */
  what: Record<string, unknown>;
  /** "applied", or why not: "unauthenticated: wrong", "invalid argument: …", "failed: …". */
  outcome: string;
}

export class AuditLog {
  private readonly log: Logger;

  constructor(
    logger: Logger,
    private readonly nowMs: () => number,
  ) {
    this.log = logger.child({ component: 'audit' });
  }

  record(entry: AuditEntry): void {
    const { token, ...rest } = entry.who;
    const line = {
      audit: true,
      at: new Date(this.nowMs()).toISOString(),
      method: entry.method,
      // Named tokenName, not token: it is the token's name, and `token` fields are redacted.
      who: { tokenName: token, ...rest },
      what: entry.what,
      outcome: entry.outcome,
    };
    if (entry.outcome === 'applied') this.log.info(line, `audit: ${entry.method} applied`);
    else this.log.warn(line, `audit: ${entry.method} refused`);
  }
}
