import { Agent, request } from 'node:http';

export interface OpenLoopStats {
  sent: number;
  byTier: { inHouse: number; modal: number; shed: number; otherError: number };
  /** Latencies (ms) of Envoy's deliberate 503s (drop_overloads). */
  shedLatenciesMs: number[];
  statuses: Record<string, number>;
  /** The first unexplained error response, for diagnosing a failing assertion. */
  firstOtherError?: string;
}

/**
 * Open-loop arrivals at a settable rate (requests are sent on schedule whether or not earlier
 * ones finished), so overload shows up as load, not as a slower client. Bounded: at most
 * `maxInFlight` outstanding requests; beyond that arrivals are counted as not sent.
 */
export function startOpenLoad(
  url: string,
  initialRps: number,
  maxInFlight = 400,
): {
  setRate(rps: number): void;
  stats(): OpenLoopStats;
  reset(): void;
  stop(): Promise<OpenLoopStats>;
} {
  const agent = new Agent({ keepAlive: true, maxSockets: maxInFlight });
  let rps = initialRps;
  let credit = 0;
  let inFlight = 0;
  let stats = fresh();
  const tickMs = 10;
  const timer = setInterval(() => {
    credit += (rps * tickMs) / 1000;
    while (credit >= 1) {
      credit -= 1;
      if (inFlight >= maxInFlight) continue;
      fire();
    }
  }, tickMs);
  function fresh(): OpenLoopStats {
    return { sent: 0, byTier: { inHouse: 0, modal: 0, shed: 0, otherError: 0 }, shedLatenciesMs: [], statuses: {} };
  }
  function fire(): void {
    const s = stats;
    s.sent++;
    inFlight++;
    const t0 = performance.now();
    const req = request(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 64) body += c;
      });
      res.on('end', () => {
        inFlight--;
        const code = res.statusCode ?? 0;
        s.statuses[code] = (s.statuses[code] ?? 0) + 1;
        if (code === 200 && res.headers['x-modal-container']) s.byTier.modal++;
        else if (code === 200 && res.headers['x-served-by']) s.byTier.inHouse++;
        // drop_overloads: Envoy answers locally and says so in a header.
        else if (code === 503 && res.headers['x-envoy-drop-overload'] === 'true') {
          s.byTier.shed++;
          s.shedLatenciesMs.push(performance.now() - t0);
        } else {
          s.byTier.otherError++;
          s.firstOtherError ??= `${code} ${JSON.stringify(res.headers)} ${body}`;
        }
      });
    });
    req.on('error', () => {
      inFlight--;
      s.byTier.otherError++;
    });
    req.end();
  }
  return {
    setRate: (r) => {
      rps = r;
    },
    stats: () => stats,
    reset: () => {
      stats = fresh();
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
