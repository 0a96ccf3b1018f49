// Open-loop Poisson load for the chaos cells, seeded, at a rate that can change mid-run. Every
// request's outcome is kept with its send time, so a cell can count what failed in any window, split
// into Envoy's deliberate drops (503 with x-envoy-drop-overload) and everything else.
import { Agent, request } from 'node:http';
import { mulberry32 } from '../../src/sim/prng.js';
import { CONTAINER_HEADER } from '../../tools/fake-modal/web-server.js';

export const Outcome = {
  InHouse: 'in-house',
  Modal: 'modal',
  /** Envoy's drop_overloads: a fast 503 Spillway asked for. */
  Dropped: 'dropped',
  /** Anything else that is not a 200: an overloaded host's 503, a reset, a timeout, Envoy's own 503. */
  Failed: 'failed',
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

export interface RequestRecord {
  /** When it was sent, ms since the epoch. */
  sentAtMs: number;
  latencyMs: number;
  outcome: Outcome;
  /** For failures: what came back. */
  detail?: string;
}

export interface Tally {
  sent: number;
  inHouse: number;
  modal: number;
  deliberateDrops: number;
  failures: number;
  /** The first few failures, for diagnosis. */
  failureSamples: string[];
}

export interface ChaosLoad {
  setRate(rps: number): void;
  /** Outcomes of requests sent in [fromMs, toMs) (epoch ms) that have completed. */
  tally(fromMs?: number, toMs?: number): Tally;
  records(): readonly RequestRecord[];
  /** Stops sending, and waits (bounded) for requests in flight. */
  stop(): Promise<void>;
}

export function startChaosLoad(opts: { url: string; rps: number; seed: number; timeoutMs?: number; maxInFlight?: number }): ChaosLoad {
  const random = mulberry32(opts.seed);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.maxInFlight ?? 512 });
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const done: RequestRecord[] = [];
  let rps = opts.rps;
  let inFlight = 0;
  let stopped = false;
  let nextAtMs = Date.now() + gapMs();

  function gapMs(): number {
    return rps > 0 ? (-Math.log(1 - random()) * 1000) / rps : 100;
  }

  const fire = (): void => {
    if (inFlight >= (opts.maxInFlight ?? 512)) {
      done.push({ sentAtMs: Date.now(), latencyMs: 0, outcome: Outcome.Failed, detail: 'not sent: client at its in-flight limit' });
      return;
    }
    inFlight++;
    const sentAtMs = Date.now();
    const t0 = performance.now();
    let finished = false;
    const finish = (outcome: Outcome, detail?: string): void => {
      if (finished) return;
      finished = true;
      inFlight--;
      done.push({ sentAtMs, latencyMs: performance.now() - t0, outcome, ...(detail ? { detail } : {}) });
    };
    const req = request(opts.url, { agent, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 300) body += c;
      });
      res.on('end', () => {
        const code = res.statusCode ?? 0;
        if (code === 200 && res.headers[CONTAINER_HEADER]) finish(Outcome.Modal);
        else if (code === 200 && res.headers['x-served-by']) finish(Outcome.InHouse);
        else if (code === 503 && res.headers['x-envoy-drop-overload'] === 'true') finish(Outcome.Dropped);
        else finish(Outcome.Failed, `${code} ${String(res.headers['x-served-by'] ?? 'envoy')}: ${body.slice(0, 240)}`);
      });
      res.on('error', (err) => finish(Outcome.Failed, `response error: ${err.message}`));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => finish(Outcome.Failed, `request error: ${err.message}`));
    req.end();
  };

  const timer = setInterval(() => {
    const now = Date.now();
    while (!stopped && nextAtMs <= now) {
      fire();
      nextAtMs += gapMs();
    }
  }, 5);

  return {
    setRate(next) {
      rps = next;
      nextAtMs = Date.now() + gapMs();
    },
    tally(fromMs = 0, toMs = Infinity) {
      const t: Tally = { sent: 0, inHouse: 0, modal: 0, deliberateDrops: 0, failures: 0, failureSamples: [] };
      for (const r of done) {
        if (r.sentAtMs < fromMs || r.sentAtMs >= toMs) continue;
        t.sent++;
        if (r.outcome === Outcome.InHouse) t.inHouse++;
        else if (r.outcome === Outcome.Modal) t.modal++;
        else if (r.outcome === Outcome.Dropped) t.deliberateDrops++;
        else {
          t.failures++;
          if (t.failureSamples.length < 5 && r.detail) t.failureSamples.push(r.detail);
        }
      }
      return t;
    },
    records: () => done,
    async stop() {
      stopped = true;
      clearInterval(timer);
      const deadline = Date.now() + 15_000;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      agent.destroy();
    },
  };
}
