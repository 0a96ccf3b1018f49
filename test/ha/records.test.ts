import { describe, expect, it } from 'vitest';
import { decide } from '../../src/capacity/decide.js';
import { makePolicy } from '../../src/config/capacity-policy.js';
import { decodeController } from '../../src/ha/records.js';
import { inputs, T0 } from '../capacity/fixtures.js';

describe('replica records', () => {
  it("a predecessor's controller memory from an earlier version resumes in this one's shape", () => {
    const d = JSON.parse(JSON.stringify(decide(undefined, inputs(T0, { offered: 500 }), T0, makePolicy())));
    delete d.state.startingRunners;
    delete d.state.queueOverflowAtMs;
    delete d.state.demandReportAtMs;
    delete d.state.demandSinceMs;
    delete d.state.inHouseInFlightAvg;
    delete d.state.corroboratedReportAtMs;
    delete d.state.stepRps;
    const text = JSON.stringify({ leader: 'replica-1', epoch: 'e1', decision: d, asOfMs: T0 });
    const r = decodeController(text, 'svc');
    expect(r.ok && r.value.decision.state).toMatchObject({
      startingRunners: { seen: 0, seenAtMs: null, groups: [] },
      queueOverflowAtMs: null,
      demandReportAtMs: null,
      demandSinceMs: null,
      inHouseInFlightAvg: null,
      corroboratedReportAtMs: null,
      stepRps: null,
    });
  });
});
