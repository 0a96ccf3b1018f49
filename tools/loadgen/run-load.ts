// Runs one open-loop load test: Poisson arrivals from a scenario are sent as they fall due, whatever
// the target is doing; an arrival that finds `concurrency` requests in flight is dropped and counted
// (a closed loop, or a client-side queue, would hide exactly the overload we want to see).
import { Agent, request, type ClientRequest } from 'node:http';
import { mulberry32 } from '../../src/sim/prng.js';
import { poissonArrivals } from './arrivals.js';
import { LoadRecorder, type LoadSummary, type SecondRecord } from './load-recorder.js';
import { expectedArrivals, scenarioDurationS, type Scenario } from './scenarios.js';
import { assertTestTarget } from './test-target.js';
import { attributeResponse, DEFAULT_TIER_RULES, type Tier, type TierRules } from './tier.js';

export interface LoadOptions {
  /** Target, e.g. http://127.0.0.1:10000. */
  url: string;
  /** Path and query of every request, e.g. '/work?ms=200'; default: the url's own. */
  path?: string;
  scenario: Scenario;
  /** PRNG seed for the arrival times; default 1. */
  seed?: number;
  /** Most requests in flight; arrivals beyond it are dropped_by_client. Default 256. */
  concurrency?: number;
  /** Per request, from send to the end of the body; default 30 000. */
  timeoutMs?: number;
  /** Refuse scenarios expecting more arrivals than this, and stop sending there. Default 1 000 000. */
  maxRequests?: number;
  headers?: Record<string, string>;
  tierRules?: TierRules;
  /** Hosts beyond loopback / localhost / single-label names that may be loaded. */
  allowHosts?: string[];
  /** Stops arrivals at once; requests still in flight are abandoned (counted as cancelled). */
  signal?: AbortSignal;
}

export interface LoadHooks {
  /** Each second once it is over (arrivals by scheduled time, completions by completion time). */
  onSecond?: (record: SecondRecord) => void;
  /**
   * Each response, with the arrival time (s, on the scenario's clock) of its request and the tier that
   * answered. The arrival time, not the moment `send` ran: a busy event loop sends a 0.999 s arrival
   * at 1.001 s, and the per-second records count it in second 0.
   */
  onResponse?: (arrivalAtS: number, tier: Tier, status: number) => void;
}

export const LIMITS = { maxDurationS: 3600, maxConcurrency: 10_000, maxRequests: 1_000_000 } as const;

/** Rejects (never throws) on options that are invalid or not a test target. */
export async function runLoad(opts: LoadOptions, hooks: LoadHooks = {}): Promise<LoadSummary> {
  const target = new URL(opts.path ?? opts.url, opts.url);
  assertTestTarget(target, opts.allowHosts);
  const durationS = scenarioDurationS(opts.scenario);
  const concurrency = opts.concurrency ?? 256;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const maxRequests = opts.maxRequests ?? LIMITS.maxRequests;
  const seed = opts.seed ?? 1;
  const expected = expectedArrivals(opts.scenario);
  if (!(durationS > 0) || durationS > LIMITS.maxDurationS)
    throw new Error(`duration must be in (0, ${LIMITS.maxDurationS}] s, got ${durationS}`);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > LIMITS.maxConcurrency)
    throw new Error(`concurrency must be an integer in 1..${LIMITS.maxConcurrency}`);
  if (!(timeoutMs > 0)) throw new Error('timeoutMs must be positive');
  if (maxRequests > LIMITS.maxRequests) throw new Error(`maxRequests is at most ${LIMITS.maxRequests}`);
  if (expected > maxRequests) throw new Error(`scenario expects ${Math.round(expected)} requests, more than maxRequests ${maxRequests}`);

  const rules = opts.tierRules ?? DEFAULT_TIER_RULES;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const recorder = new LoadRecorder();
  const arrivals = poissonArrivals(opts.scenario, mulberry32(seed));
  const live = new Map<ClientRequest, NodeJS.Timeout>(); // in flight, with its deadline timer
  const startedAt = performance.now();
  const nowS = (): number => (performance.now() - startedAt) / 1000;

  let next = arrivals.next();
  let scheduled = 0;
  let inFlight = 0;
  let nextSecond = 0; // the oldest second not yet emitted
  let arrivalsDoneAtS: number | undefined;
  let stoppedEarly = false;
  let finished = false;
  let timer: NodeJS.Timeout | undefined;

  return new Promise<LoadSummary>((resolve) => {
    const wakeNow = (): void => {
      clearTimeout(timer);
      timer = setTimeout(tick, 0);
    };
    const onAbort = (): void => {
      stoppedEarly = true;
      wakeNow();
    };
    if (opts.signal?.aborted) stoppedEarly = true;
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const send = (arrivalAtS: number): void => {
      inFlight++;
      const t0 = performance.now();
      const req = request(target, { agent, method: 'GET', headers: opts.headers });
      let settled = false;
      const settle = (record: (second: number) => void): void => {
        if (settled || finished) return;
        settled = true;
        clearTimeout(deadline);
        live.delete(req);
        inFlight--;
        record(Math.floor(nowS()));
        if (arrivalsDoneAtS !== undefined && inFlight === 0) wakeNow();
      };
      const deadline = setTimeout(() => req.destroy(Object.assign(new Error('request timed out'), { code: 'TIMEOUT' })), timeoutMs);
      live.set(req, deadline);
      req.on('response', (res) => {
        res.resume();
        res.on('end', () =>
          settle((s) => {
            const who = attributeResponse(res.statusCode ?? 0, res.headers, rules);
            recorder.response(s, performance.now() - t0, res.statusCode ?? 0, who);
            hooks.onResponse?.(arrivalAtS, who.tier, res.statusCode ?? 0);
          }),
        );
        res.on('error', (err) => settle((s) => recorder.failure(s, errorKind(err))));
      });
      req.on('error', (err) => settle((s) => recorder.failure(s, errorKind(err))));
      req.end();
    };

    const emitThrough = (limitS: number): void => {
      while (nextSecond < limitS) {
        hooks.onSecond?.(recorder.takeSecond(nextSecond, expectedArrivals(opts.scenario, nextSecond, nextSecond + 1), inFlight));
        nextSecond++;
      }
    };

    const finish = (): void => {
      finished = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      const elapsedS = nowS();
      emitThrough(Math.ceil(elapsedS)); // the last, partial second too
      const cancelled = inFlight;
      // Cleared, not left to fire: a pending deadline would keep a CLI run alive after an early stop.
      for (const [req, deadline] of live) {
        clearTimeout(deadline);
        req.destroy();
      }
      agent.destroy();
      resolve(
        recorder.summary({
          scenario: opts.scenario.name,
          url: target.toString(),
          seed,
          durationS,
          elapsedS,
          expectedArrivals: expected,
          cancelled,
          stoppedEarly,
        }),
      );
    };

    const tick = (): void => {
      timer = undefined;
      if (finished) return;
      const now = nowS();
      while (!stoppedEarly && !next.done && next.value <= now) {
        const arrivalAtS = next.value;
        const second = Math.floor(arrivalAtS);
        next = scheduled + 1 >= maxRequests ? { done: true, value: undefined } : arrivals.next();
        scheduled++;
        const admit = inFlight < concurrency;
        if (admit) send(arrivalAtS);
        recorder.arrival(second, admit, inFlight);
      }
      if (arrivalsDoneAtS === undefined && (stoppedEarly || next.done)) arrivalsDoneAtS = now;
      // A second is over once the clock and the arrival cursor have both passed it.
      const cursor = next.done || stoppedEarly ? Infinity : next.value;
      emitThrough(Math.floor(Math.min(now, cursor)));
      if (arrivalsDoneAtS !== undefined) {
        const drainDeadlineS = arrivalsDoneAtS + timeoutMs / 1000 + 1;
        if (stoppedEarly || inFlight === 0 || now >= drainDeadlineS) return finish();
        timer = setTimeout(tick, Math.max(0, (Math.min(nextSecond + 1, drainDeadlineS) - nowS()) * 1000));
        return;
      }
      const wakeAtS = Math.min(next.done ? Infinity : next.value, nextSecond + 1);
      timer = setTimeout(tick, Math.max(0, (wakeAtS - nowS()) * 1000));
    };
    tick();
  });
}

function errorKind(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.message.slice(0, 60) : 'error';
}
