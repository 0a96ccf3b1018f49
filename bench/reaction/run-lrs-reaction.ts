// One LRS-driven reaction run: Modal is warm and never the limit; the offered load through a real
// Envoy steps between LOW_RPS (all in-house) and HIGH_RPS (twice the in-house target), at random
// phase against Envoy's load reports. Each step up is an input change only LRS can carry: measured
// from the moment the load generator switched rate to the moment Envoy's workers run the new split.
import { mulberry32 } from '../../src/sim/prng.js';
import { runLoad } from '../../tools/loadgen/run-load.js';
import type { RateSegment, Scenario } from '../../tools/loadgen/scenarios.js';
import { AdminPoller } from './admin-poller.js';
import { attribute } from './attribute.js';
import { nowMs, sleep } from './clock.js';
import { PipelineRecorder } from './recorder.js';
import { startRig, SERVICE, type RigOptions } from './rig.js';
import type { ReactionRun } from './run-reaction.js';

export const LOW_RPS = 24;
export const HIGH_RPS = 96;

export const LRS_REACTION_RIG: RigOptions = {
  // 3 × 4 slots × 200 ms = 60 rps in-house; ρ* 0.8 ⇒ 48 rps target; HIGH_RPS spills half.
  inHouse: { hosts: 3, slots: 4, serviceMs: 200 },
  // Ten warm containers that answer at once: Modal's capacity never bounds the share.
  modal: { maxInputs: 4, targetInputs: 4, maxContainers: 10, minContainers: 10, coldStartMs: 0, scaledownWindowMs: 60_000 },
  modalDefaultServiceMs: 0,
  lrsIntervalMs: 1000,
  tickMs: 1000,
  pollIntervalMs: 1000,
  capacity: {
    policy: 'default',
    in_house_service_time_ms: 200,
    modal_service_time_ms: 50,
    prewarm: { enabled: false },
    // Short soft-cordon on the way down, so the next step up starts from an all-in-house plan.
    drain_ms: 1000,
  },
};

/** Seconds at each level: the up step is held long enough to react; down long enough to release. */
const UP_S = [4, 6] as const;
const DOWN_S = [7, 9] as const;
const WARM_S = 10;

export async function runLrsReaction(
  o: { changes: number; seed: number; replicas?: number },
  log: (s: string) => void,
): Promise<ReactionRun> {
  // With replicas the Envoy reports to a follower; the leader decides on the load the follower shares.
  const rig = await startRig({ ...LRS_REACTION_RIG, ...(o.replicas !== undefined ? { replicas: o.replicas } : {}) });
  const poller = new AdminPoller(rig.envoy.adminUrl, 5);
  const rec = new PipelineRecorder(rig.app, rig.attached, poller);
  const reports: Array<{ at: number; offered: number; inHouseInFlight: number }> = [];
  const offReports = rig.attached.lrs.view.subscribe((snap) => {
    const s = snap.services.find((x) => x.service === SERVICE);
    if (!s) return;
    const offered = s.localities['in-house'].issuedRps + s.localities.modal.issuedRps + s.drops.droppedRps;
    if (reports.at(-1)?.offered !== offered) reports.push({ at: nowMs(), offered, inHouseInFlight: s.localities['in-house'].inProgress });
  });
  const abort = new AbortController();
  const rand = mulberry32(o.seed);
  // The whole load schedule up front: random lengths put each step at a random phase of the reports.
  const segments: RateSegment[] = [{ startS: 0, endS: WARM_S, fromRps: LOW_RPS, toRps: LOW_RPS }];
  const upAtS: number[] = [];
  let t = WARM_S;
  for (let i = 0; i < o.changes; i++) {
    const up = UP_S[0] + rand() * (UP_S[1] - UP_S[0]);
    const down = DOWN_S[0] + rand() * (DOWN_S[1] - DOWN_S[0]);
    upAtS.push(t);
    segments.push({ startS: t, endS: t + up, fromRps: HIGH_RPS, toRps: HIGH_RPS });
    segments.push({ startS: t + up, endS: t + up + down, fromRps: LOW_RPS, toRps: LOW_RPS });
    t += up + down;
  }
  const scenario: Scenario = { name: 'lrs-steps', segments };
  try {
    poller.start();
    const loadStart = nowMs();
    const load = runLoad({ url: rig.baseUrl, path: '/work', scenario, seed: o.seed, signal: abort.signal });
    await sleep(t * 1000 + 1500);
    abort.abort();
    await load;
    // Receipt: the first report that shows the step at all. A step late in a report window shows
    // only a little of the new rate; if that is not enough to act on, the wait for the next report
    // appears as the controller's stage (receipt → decision), not as waiting for the input.
    const seen = LOW_RPS + 0.1 * (HIGH_RPS - LOW_RPS);
    const changes = upAtS.map((s, i) => {
      const input = loadStart + s * 1000;
      const until = upAtS[i + 1] !== undefined ? loadStart + upAtS[i + 1]! * 1000 : Infinity;
      const receipt = reports.find((r) => r.at > input && r.at < until && r.offered >= seen)?.at;
      log(`  step ${i + 1}/${o.changes}: ${LOW_RPS} → ${HIGH_RPS} rps`);
      return {
        index: i,
        direction: 1 as const,
        runners: LRS_REACTION_RIG.modal.maxContainers,
        ...attribute(rec, { index: i, input, until, runners: 0, direction: 1, ...(receipt !== undefined ? { receipt } : {}) }),
      };
    });
    const polls = poller.polls;
    const spanMs = (poller.latest?.atMs ?? 0) - (poller.firstAt ?? 0);
    return {
      mergeWindowMs: null,
      replicas: o.replicas ?? 1,
      changes,
      adminPolls: polls,
      adminPollMeanMs: polls > 1 ? Math.round((10 * spanMs) / polls) / 10 : NaN,
      counters: { ...(poller.latest?.counters ?? {}) },
      weightChecks: { ok: 0, mismatched: 0 },
      decisions: rec.decisions,
      samples: rec.samples,
      loadReports: reports,
    };
  } finally {
    abort.abort();
    offReports();
    rec.close();
    await poller.stop();
    await rig.close();
  }
}
