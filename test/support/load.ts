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
          const by = String(res.headers['x-served-by'] ?? `status-${res.statusCode}`);
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
