// One reaction-time run: steady load through a real Envoy keeps Spillway spilling with the Modal
// share capped by Modal's warm capacity; the benchmark then flips Modal between LOW and HIGH live
// containers (update_autoscaler through the official SDK, cold start 0), so each flip is an input
// change only the stats poll can see, and stamps every stage until Envoy's workers run the new weight.
import { runningLocalities, type ConfigDump } from '../../tools/envoy/config-dump.js';
import { mulberry32 } from '../../src/sim/prng.js';
import { runLoad } from '../../tools/loadgen/run-load.js';
import { buildScenario } from '../../tools/loadgen/scenarios.js';
import { AdminPoller } from './admin-poller.js';
import { attribute, type Reaction } from './attribute.js';
import { nowMs, sleep } from './clock.js';
import { PipelineRecorder } from './recorder.js';
import { startRig, SERVICE, type RigOptions } from './rig.js';

export interface ReactionRunOptions {
  changes: number;
  mergeWindowMs: number | undefined;
  seed: number;
  /** Replicas on etcd (Envoy on a follower); undefined: one Spillway. */
  replicas?: number;
}

export const LOW = 1;
export const HIGH = 4;
export const LOAD_RPS = 64;

export const REACTION_RIG: Omit<RigOptions, 'mergeWindowMs'> = {
  // 3 × 4 slots × 200 ms = 60 rps in-house; ρ* 0.8 ⇒ 48 rps; 64 rps offered ⇒ 25 % wanted on Modal.
  inHouse: { hosts: 3, slots: 4, serviceMs: 200 },
  // Modal answers at once (no ?ms=): its containers sit idle, so min=max flips take effect at once.
  modal: { maxInputs: 4, targetInputs: 4, maxContainers: LOW, minContainers: LOW, coldStartMs: 0, scaledownWindowMs: 0 },
  modalDefaultServiceMs: 0,
  // Spillway may count on up to 10: the flips, not a ceiling, are what bound the share.
  configMaxContainers: 10,
  lrsIntervalMs: 1000,
  tickMs: 250,
  pollIntervalMs: 1000,
  // The bench flips Modal's autoscaler itself, down as fast as up: the actuator's rate limit is not what it measures.
  autoscalerMinIntervalMs: 0,
  capacity: {
    policy: 'default',
    in_house_service_time_ms: 200,
    // Pessimistic on purpose: LOW containers cap the share at 12.5 %, HIGH lets it reach the 25 % wanted.
    modal_service_time_ms: 500,
    prewarm: { enabled: false },
    // Warm capacity alone bounds the share: a wait budget would let a queue cover the excess whatever runs.
    modal_wait_budget_ms: 0,
  },
};

export interface ReactionRun {
  mergeWindowMs: number | null;
  replicas: number;
  changes: Array<Reaction & { index: number; direction: 1 | -1; runners: number }>;
  adminPolls: number;
  adminPollMeanMs: number;
  counters: Record<string, number>;
  weightChecks: { ok: number; mismatched: number };
  /** Every decision and stats sample, for auditing the attribution. */
  decisions: PipelineRecorder['decisions'];
  samples: PipelineRecorder['samples'];
  /** LRS input: each load report the Envoy's Spillway received (offered rps, in-house in flight). */
  loadReports?: Array<{ at: number; offered: number; inHouseInFlight: number }>;
}

async function modalEnvoyWeight(adminUrl: string): Promise<number> {
  const dump = (await (await fetch(`${adminUrl}/config_dump?include_eds`)).json()) as ConfigDump;
  return runningLocalities(dump, SERVICE).get('modal')?.weight ?? 0;
}

export async function runReaction(o: ReactionRunOptions, log: (s: string) => void): Promise<ReactionRun> {
  const rig = await startRig({
    ...REACTION_RIG,
    ...(o.mergeWindowMs !== undefined ? { mergeWindowMs: o.mergeWindowMs } : {}),
    ...(o.replicas !== undefined ? { replicas: o.replicas } : {}),
  });
  const poller = new AdminPoller(rig.envoy.adminUrl, 5);
  const rec = new PipelineRecorder(rig.app, rig.attached, poller);
  const abort = new AbortController();
  const rand = mulberry32(o.seed);
  try {
    poller.start();
    const load = runLoad({
      url: rig.baseUrl,
      path: '/work',
      scenario: buildScenario('steady', { durationS: 20 + o.changes * 6, baseRps: LOAD_RPS }),
      seed: o.seed,
      signal: abort.signal,
    });
    // Warm-up: LRS and the EWMAs settle, the share reaches Modal's LOW cap.
    await sleep(10_000);
    const specs: Array<{ input: number; runners: number; direction: 1 | -1 }> = [];
    const weightChecks = { ok: 0, mismatched: 0 };
    for (let i = 0; i < o.changes; i++) {
      const runners = i % 2 === 0 ? HIGH : LOW;
      const direction: 1 | -1 = runners === HIGH ? 1 : -1;
      // Random phase against the poll and tick timers.
      await sleep(1500 + rand() * 1500);
      const res = await rig.app.modal!.actuator.apply(SERVICE, { minContainers: runners, maxContainers: runners });
      if (res.outcome === 'failed') throw new Error(`update_autoscaler failed: ${res.error}`);
      // The input change is when the fake's true stats show the new live count, not the RPC.
      const deadline = Date.now() + 5000;
      let input = 0;
      while (Date.now() < deadline) {
        const f = rig.fake.state().functions[0]!;
        if (f.stats.runners === runners && f.containers.every((c) => c.state === 'live')) {
          input = nowMs();
          break;
        }
        await sleep(1);
      }
      if (!input) throw new Error(`fake Modal never reached ${runners} containers`);
      specs.push({ input, runners, direction });
      // Wait for the reaction to reach Envoy's workers (bounded), then let slewed follow-ups land.
      const t0 = Date.now();
      while (Date.now() - t0 < 8000) {
        const r = attribute(rec, { index: i, input, until: Infinity, runners, direction });
        if (r.first.applied !== undefined) break;
        await sleep(20);
      }
      await sleep(1200);
      const want = rec.decisions.at(-1)?.v.modalWeight ?? 0;
      if ((await modalEnvoyWeight(rig.envoy.adminUrl)) === want) weightChecks.ok++;
      else weightChecks.mismatched++;
      log(`  change ${i + 1}/${o.changes}: ${direction > 0 ? 'up  ' : 'down'} to ${runners} containers`);
    }
    abort.abort();
    await load;
    const changes = specs.map((s, i) => ({
      index: i,
      direction: s.direction,
      runners: s.runners,
      ...attribute(rec, { index: i, input: s.input, until: specs[i + 1]?.input ?? Infinity, runners: s.runners, direction: s.direction }),
    }));
    const polls = poller.polls;
    const spanMs = (poller.latest?.atMs ?? 0) - (poller.firstAt ?? 0);
    return {
      mergeWindowMs: o.mergeWindowMs ?? null,
      replicas: o.replicas ?? 1,
      changes,
      adminPolls: polls,
      adminPollMeanMs: polls > 1 ? Math.round((10 * spanMs) / polls) / 10 : NaN,
      counters: { ...(poller.latest?.counters ?? {}) },
      weightChecks,
      decisions: rec.decisions,
      samples: rec.samples,
    };
  } finally {
    abort.abort();
    rec.close();
    await poller.stop();
    await rig.close();
  }
}
