import { describe, expect, it } from 'vitest';
import { ModalCostMeter } from '../../src/control/modal-cost.js';
import { VirtualTime } from '../support/virtual-time.js';

const PRICE = 0.0001;
const sample = (observedAtMs: number, runners: number) => ({ service: 'svc', runners, backlog: 0, observedAtMs });

describe('live Modal cost', () => {
  it('charges each container count for the time until the next sample, and reports the rate now', async () => {
    const midnight = Date.UTC(2026, 0, 2);
    const vt = new VirtualTime(midnight - 20_000);
    const meter = new ModalCostMeter(vt, [{ service: 'svc', pricePerContainerSecond: PRICE }]);
    meter.observe(sample(vt.nowMs(), 2));
    await vt.advance(10_000);
    meter.observe(sample(vt.nowMs(), 4));
    // 2 containers for 10 s, then 4 containers: 20 container-seconds so far.
    expect(meter.cost('svc')).toMatchObject({ containerSecondsSinceStart: 20, dollarsPerHour: 4 * PRICE * 3600 });
    // Across midnight UTC: 4 containers for 10 s before it and 5 s after; "today" restarts at midnight.
    await vt.advance(15_000);
    const c = meter.cost('svc')!;
    expect(c.containerSecondsSinceStart).toBeCloseTo(20 + 60, 9);
    expect(c.dollarsSinceStart).toBeCloseTo(80 * PRICE, 12);
    expect(c.dollarsToday).toBeCloseTo(20 * PRICE, 12);
    meter.observe(sample(vt.nowMs(), 0));
    expect(meter.cost('svc')).toMatchObject({ dollarsPerHour: 0 });
    // A feed that stops sampling stops being charged after a minute: the count is unknown.
    meter.observe(sample(vt.nowMs(), 3));
    await vt.advance(600_000);
    expect(meter.cost('svc')!.containerSecondsSinceStart).toBeCloseTo(80 + 180, 9);
    expect(meter.cost('svc')!.dollarsPerHour).toBe(0);
    expect(meter.cost('other')).toBeUndefined();
  });
});
