// The abuse suite at CI size: seeded random and mutated calls of every kind, and the floods, thrown
// at a Spillway secured as recommended, with two real Envoys attached and real traffic flowing.
// The same campaign runs deeper with `npm run fuzz` (figures in RELIABILITY.md). A failure names
// the case (kind#index) so `npm run fuzz -- --seed S --replay KIND:INDEX` replays it alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCampaign, type CampaignReport } from '../../bench/fuzz/campaign.js';
import { judge, MEMORY_BOUND_BYTES, renderReport } from '../../bench/fuzz/report.js';
import { startFuzzRig, type FuzzRig } from '../../bench/fuzz/rig.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261129);

describe('abuse suite (CI size)', () => {
  let rig: FuzzRig;
  let report: CampaignReport;

  beforeAll(async () => {
    rig = await startFuzzRig();
  }, 120_000);
  afterAll(async () => {
    await rig?.close();
  }, 60_000);

  it('bad input gets a status naming the problem and harms nothing: Spillway stays up and bounded, real traffic and weights untouched', async () => {
    report = await runCampaign(rig, { seed: SEED, perKind: 500, churn: 1500, connections: 150, neverReaders: 6 });
    console.log(renderReport(report, `FUZZ_SEED=${SEED} npx vitest run test/fuzz`));
    const calls = Object.values(report.kinds).reduce((n, k) => n + k.tried, 0);
    expect(calls).toBe(2000);
    expect(report.floods.reduce((n, f) => n + f.tried, 0)).toBeGreaterThanOrEqual(1800);
    // Every kind was refused for real reasons, not just served.
    for (const k of Object.values(report.kinds)) expect(Object.values(k.refused).reduce((a, b) => a + b, 0)).toBeGreaterThan(100);
    expect(report.violations).toEqual([]);
    expect(report.spillwayAlive).toBe(true);
    expect(report.memory.peakRss).toBeLessThan(MEMORY_BOUND_BYTES);
    expect(report.traffic.failed, report.traffic.firstFailure).toBe(0);
    expect(Object.keys(report.traffic.perEnvoy)).toHaveLength(2);
    for (const served of Object.values(report.traffic.perEnvoy)) expect(served).toBeGreaterThan(0);
    expect(judge(report).problems).toEqual([]);
  }, 400_000);
});
