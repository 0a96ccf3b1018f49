/** Wall-clock time in milliseconds. Injected everywhere time matters so tests can run in virtual time. */
export interface Clock {
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };
