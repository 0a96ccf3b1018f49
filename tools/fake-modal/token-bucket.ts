// Modal's workspace rate limit as a token bucket: `rps` tokens a second, up to `rps × burst` saved
// up (200 requests/s with a 5× burst for a new account, guide/webhooks). A request past it gets 429.
import type { Clock } from '../../src/core/clock.js';

export interface RateLimit {
  rps: number;
  /** Multiple of rps the bucket holds: how big a burst passes at once. */
  burst: number;
}

export const MODAL_RATE_LIMIT: RateLimit = { rps: 200, burst: 5 };

export class TokenBucket {
  private tokens: number;
  private lastMs: number;
  private limit: RateLimit;
  /** Requests refused since start. */
  refused = 0;

  constructor(
    limit: RateLimit,
    private readonly clock: Clock,
  ) {
    this.limit = limit;
    this.tokens = limit.rps * limit.burst;
    this.lastMs = clock.nowMs();
  }

  /** Takes one token if there is one. */
  take(): boolean {
    const now = this.clock.nowMs();
    const cap = this.limit.rps * this.limit.burst;
    this.tokens = Math.min(cap, this.tokens + ((now - this.lastMs) / 1000) * this.limit.rps);
    this.lastMs = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.refused++;
    return false;
  }

  /** A new limit starts with a full bucket. */
  set(limit: RateLimit): void {
    this.limit = limit;
    this.tokens = limit.rps * limit.burst;
    this.lastMs = this.clock.nowMs();
  }

  current(): RateLimit & { refused: number } {
    return { ...this.limit, refused: this.refused };
  }
}
