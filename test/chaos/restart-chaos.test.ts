// Chaos, lean (CI): Spillway as its own process under load while the controller spills, a real
// Envoy. `npm run chaos` runs the longer cells (every restart delay, both protocols) and writes the
// figures to RELIABILITY.md.
import { describe, it } from 'vitest';
import { killAndRestart, sighupBrokenFile } from '../../bench/chaos/restart-cells.js';
import { startSession } from '../../bench/chaos/session.js';
import { expectCell } from './expect-cell.js';

describe('chaos: restarts and reloads under load (real Envoy, `spillway serve` as a process)', () => {
  it('a SIGHUP with a broken file changes nothing; kill -9 and a restart 2 s later keep the Modal share and fail nothing', async () => {
    const s = await startSession({
      spillway: 'child',
      apiType: 'GRPC',
      seed: 13,
      rps: 60,
      spillingAbove: 0.2,
      settleMs: 6_000,
      // A restart here (tsx, a shared 2-core machine) takes seconds on top of the downtime.
      capacity: { stale_after_ms: 30_000 },
    });
    try {
      expectCell(await sighupBrokenFile(s));
      expectCell(await killAndRestart(s, { downMs: 2_000, observeMs: 8_000, apiType: 'GRPC' }));
    } finally {
      await s.close();
    }
  }, 180_000);
});
