// Chaos, lean (CI): outages around Spillway, with a real Envoy and load. `npm run chaos` runs them
// longer (60 s outages, 30 s of LRS silence) and writes the figures to RELIABILITY.md.
import { describe, it } from 'vitest';
import { breakableResolver, dnsFailure, lrsSilent, modalDownAtStart, modalDownMidRun } from '../../bench/chaos/outage-cells.js';
import { startSession } from '../../bench/chaos/session.js';
import { expectCell } from './expect-cell.js';

describe('chaos: outages around Spillway (real Envoy, load)', () => {
  it('Modal API down at start: xDS binds at once, in-house serves in the fail-safe, Modal is picked up when it is back', async () => {
    expectCell(await modalDownAtStart({ downMs: 8_000, seed: 21, rps: 50 }));
  }, 150_000);

  it('the Modal hostname not resolving, every Envoy cut off (LRS silent), then Modal API down mid-run', async () => {
    const resolver = breakableResolver();
    const s = await startSession({
      spillway: 'in-process',
      link: true,
      dns: resolver.dns,
      seed: 22,
      rps: 60,
      spillingAbove: 0.2,
      settleMs: 4_000,
      pollIntervalMs: 500,
      capacity: { unobservable: 'zero', fail_after_errors: 2 },
    });
    try {
      expectCell(await dnsFailure(s, resolver, { failMs: 6_000 }));
      expectCell(await lrsSilent(s, { cutMs: 6_000 }));
      expectCell(await modalDownMidRun(s, { downMs: 6_000, unobservable: 'zero' }));
    } finally {
      await s.close();
    }
  }, 240_000);
});
