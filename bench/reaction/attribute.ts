// Matches one input change to the pipeline events it caused. Pure over the recorder's arrays.
import { AdminPoller } from './admin-poller.js';
import type { PipelineRecorder } from './recorder.js';
import type { Stamps } from './stats.js';

export interface ChangeSpec {
  index: number;
  /** When the fake Modal's stats showed the new container count. */
  input: number;
  /** The next change's input (events after it belong to that change). */
  until: number;
  runners: number;
  direction: 1 | -1;
  /**
   * When Spillway received the input, if the caller found it (LRS steps: the first load report that
   * shows the new demand); otherwise the first Modal stats sample with the new runner count.
   */
  receipt?: number;
}

export interface Reaction {
  first: Stamps;
  /** The last EDS update of the same reaction (a slewed move takes several ticks). */
  settled?: { publish: number; applied?: number; decisions: number };
  weightBefore: number;
  weightAfter?: number;
  mergedApply: boolean;
}

const firstAfter = <T>(xs: readonly { at: number; v: T }[], t: number, until: number, ok: (v: T) => boolean = () => true) =>
  xs.find((x) => x.at >= t && x.at < until && ok(x.v));

/** When the workers first ran an update published at `publish` (first applied-count increase after it). */
function appliedAfter(rec: PipelineRecorder, publish: number, until: number): { at?: number; merged: boolean; accepted?: number } {
  const before = rec.countersAt(publish);
  if (!before) return { merged: false };
  const base = AdminPoller.applied(before);
  const hit = rec.admin.find((a) => a.at > publish && a.at < until && AdminPoller.applied(a.v.counters) > base);
  const acc = rec.admin.find(
    (a) => a.at > publish && a.at < until && a.v.counters['cluster.echo.update_success'] > before['cluster.echo.update_success'],
  );
  return {
    ...(hit ? { at: hit.at } : {}),
    ...(acc ? { accepted: acc.at } : {}),
    merged:
      hit !== undefined &&
      hit.v.counters['cluster_manager.cluster_updated_via_merge'] > before['cluster_manager.cluster_updated_via_merge'],
  };
}

export function attribute(rec: PipelineRecorder, c: ChangeSpec): Reaction {
  const prior = [...rec.decisions].reverse().find((d) => d.at < c.input);
  const weightBefore = prior?.v.modalWeight ?? 0;
  const first: Stamps = { input: c.input };
  const receipt = c.receipt !== undefined ? { at: c.receipt } : firstAfter(rec.samples, c.input, c.until, (s) => s.runners === c.runners);
  if (!receipt) return { first, weightBefore, mergedApply: false };
  first.receipt = receipt.at;
  const moved = (w: number): boolean => (c.direction > 0 ? w > weightBefore : w < weightBefore);
  const decision = firstAfter(rec.decisions, receipt.at, c.until, (d) => moved(d.modalWeight));
  if (!decision) return { first, weightBefore, mergedApply: false };
  first.decision = decision.at;
  const publish = firstAfter(rec.publishes, decision.at - 2, c.until);
  if (!publish) return { first, weightBefore, weightAfter: decision.v.modalWeight, mergedApply: false };
  first.publish = publish.at;
  const version = publish.v.edsVersion;
  const sent = firstAfter(rec.sent, publish.at - 1, c.until, (s) => s.version === version);
  const ack = firstAfter(rec.acks, publish.at - 1, c.until, (s) => s.version === version);
  if (sent) first.sent = sent.at;
  if (ack) first.ack = ack.at;
  const applied = appliedAfter(rec, publish.at, c.until);
  if (applied.at !== undefined) first.applied = applied.at;
  if (applied.accepted !== undefined) first.accepted = applied.accepted;
  // Follow-up moves of the same reaction: later decisions in the same direction before the next change.
  const follow = rec.decisions.filter((d) => d.at > decision.at && d.at < c.until && d.at - decision.at < 3000);
  const lastDecision = follow.at(-1) ?? decision;
  const lastPublish = [...rec.publishes].reverse().find((p) => p.at >= lastDecision.at - 1 && p.at < c.until);
  const settled = lastPublish
    ? (() => {
        const a = appliedAfter(rec, lastPublish.at, c.until);
        return { publish: lastPublish.at, ...(a.at !== undefined ? { applied: a.at } : {}), decisions: follow.length + 1 };
      })()
    : undefined;
  return { first, ...(settled ? { settled } : {}), weightBefore, weightAfter: lastDecision.v.modalWeight, mergedApply: applied.merged };
}
