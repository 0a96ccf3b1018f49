import { Agent, request } from 'node:http';

export interface SteadyLoadStats {
  sent: number;
  /** Answered 200 by an in-house backend or by Modal. */
  ok: number;
  /** Envoy's deliberate 503s (drop_overloads). */
  shed: number;
  /** Anything else: a failed request. */
  failed: number;
  firstFailure?: string;
}

/**
 * Requests at a constant rate, scheduled by elapsed time rather than by timer ticks, so a busy
 * machine delays requests but does not lower the rate; open loop (sent whether or not earlier ones
 * finished), at most maxInFlight outstanding.
 */
export function startSteadyLoad(
  url: string,
  rps: number,
  maxInFlight = 400,
): { setRate(rps: number): void; stats(): SteadyLoadStats; reset(): void; stop(): Promise<SteadyLoadStats> } {
  const agent = new Agent({ keepAlive: true, maxSockets: maxInFlight });
  let rate = rps;
  let last = performance.now();
  let credit = 0;
  let inFlight = 0;
  let stats: SteadyLoadStats = { sent: 0, ok: 0, shed: 0, failed: 0 };
  const fail = (s: SteadyLoadStats, why: string): void => {
    s.failed++;
    s.firstFailure ??= why;
  };
  const fire = (): void => {
    const s = stats;
    s.sent++;
    inFlight++;
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => {
        inFlight--;
        const code = res.statusCode ?? 0;
        if (code === 200) s.ok++;
        else if (code === 503 && res.headers['x-envoy-drop-overload'] === 'true') s.shed++;
        else fail(s, `HTTP ${code}`);
      });
    });
    req.on('error', (err) => {
      inFlight--;
      fail(s, err.message);
    });
    req.end();
  };
  const timer = setInterval(() => {
    const now = performance.now();
    credit += (rate * (now - last)) / 1000;
    last = now;
    while (credit >= 1) {
      credit -= 1;
      if (inFlight < maxInFlight) fire();
    }
  }, 5);
  return {
    setRate: (r) => {
      rate = r;
    },
    stats: () => stats,
    reset: () => {
      stats = { sent: 0, ok: 0, shed: 0, failed: 0 };
    },
    stop: async () => {
      clearInterval(timer);
      const deadline = Date.now() + 10_000;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      agent.destroy();
      return stats;
    },
  };
}
