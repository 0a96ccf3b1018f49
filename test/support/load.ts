import { Agent, request } from 'node:http';

export interface LoadResult {
  ok: number;
  failed: number;
  byServer: Record<string, number>;
  errors: string[];
}

/**
 * Sends `total` GET requests to url with at most `concurrency` in flight over keep-alive
 * connections; counts which backend answered (x-served-by) and every failure.
 */
export async function sendRequests(url: string, total: number, concurrency: number): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const result: LoadResult = { ok: 0, failed: 0, byServer: {}, errors: [] };
  let next = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const req = request(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => {
          // Envoy's deliberate shedding (drop_overloads) is a 503 it marks; tell it apart from failures.
          const by = res.headers['x-envoy-drop-overload'] ? 'dropped' : String(res.headers['x-served-by'] ?? `status-${res.statusCode}`);
          if (res.statusCode === 200) result.ok++;
          else {
            result.failed++;
            if (result.errors.length < 20) result.errors.push(`HTTP ${res.statusCode}`);
          }
          result.byServer[by] = (result.byServer[by] ?? 0) + 1;
          resolve();
        });
      });
      req.on('error', (err) => {
        result.failed++;
        if (result.errors.length < 20) result.errors.push(err.message);
        resolve();
      });
      req.end();
    });
  const worker = async (): Promise<void> => {
    while (next < total) {
      next++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return result;
}

/** Keeps `concurrency` request loops running until stop() is called; resolves with the totals. */
export function startContinuousLoad(url: string, concurrency: number): { stop(): Promise<LoadResult> } {
  let running = true;
  const totals: LoadResult = { ok: 0, failed: 0, byServer: {}, errors: [] };
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      const r = await sendRequests(url, 10, 1);
      totals.ok += r.ok;
      totals.failed += r.failed;
      for (const [k, v] of Object.entries(r.byServer)) totals.byServer[k] = (totals.byServer[k] ?? 0) + v;
      totals.errors.push(...r.errors.slice(0, Math.max(0, 20 - totals.errors.length)));
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return totals;
    },
  };
}
