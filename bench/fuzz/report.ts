// The campaign's figures as Markdown tables (what RELIABILITY.md quotes), and the verdicts the
// suite asserts, so the test and `npm run fuzz` judge by one rule.
import type { CampaignReport } from './campaign.js';

export const MiB = 1024 * 1024;

/** Peak resident memory Spillway must stay under through a campaign (stated in RELIABILITY.md). */
export const MEMORY_BOUND_BYTES = 512 * MiB;

export interface Verdict {
  ok: boolean;
  problems: string[];
}

export function judge(r: CampaignReport): Verdict {
  const problems: string[] = [];
  if (!r.spillwayAlive) problems.push('Spillway is not running');
  if (r.violations.length > 0)
    problems.push(`${r.violations.length} refusals did not name the problem: ${r.violations.slice(0, 5).join(' | ')}`);
  if (r.memory.peakRss > MEMORY_BOUND_BYTES)
    problems.push(`peak RSS ${(r.memory.peakRss / MiB).toFixed(0)} MiB over the bound ${MEMORY_BOUND_BYTES / MiB} MiB`);
  if (r.traffic.failed > 0)
    problems.push(`${r.traffic.failed} of ${r.traffic.sent} real requests failed (first: ${r.traffic.firstFailure})`);
  if (r.traffic.ok === 0) problems.push('no real traffic was served');
  if (r.weights.modes.join() !== 'in-house') problems.push(`the service left in-house mode: ${r.weights.modes.join(', ')}`);
  if (r.weights.modalWeights.join() !== '0') problems.push(`the Modal weight moved: ${r.weights.modalWeights.join(', ')}`);
  if (r.weights.publishesAfter !== r.weights.publishesBefore)
    problems.push(`${r.weights.publishesAfter - r.weights.publishesBefore} snapshots were published`);
  if (r.weights.edsAfter.join() !== r.weights.edsBefore.join()) problems.push('an Envoy runs another EDS version than before');
  if (!r.envoysConnected.every(Boolean)) problems.push('an Envoy lost its xDS stream');
  if (r.streams.after !== r.streams.before) problems.push(`open ADS streams went from ${r.streams.before} to ${r.streams.after}`);
  if (r.lrsEnvoys.after !== r.lrsEnvoys.before) problems.push(`Envoys on LRS went from ${r.lrsEnvoys.before} to ${r.lrsEnvoys.after}`);
  for (const f of r.floods) for (const k of Object.keys(f.outcomes)) if (k.includes('(!)')) problems.push(`${f.name}: ${k}`);
  return { ok: problems.length === 0, problems };
}

const n = (x: number): string => x.toLocaleString('en-US');
const mib = (bytes: number): string => `${(bytes / MiB).toFixed(0)} MiB`;

const transportOf = (k: { transportReasons: Record<string, number> }): string =>
  Object.entries(k.transportReasons)
    .sort((a, b) => b[1] - a[1])
    .map(([why, x]) => `${why} ${n(x)}`)
    .join(', ');

export function renderReport(r: CampaignReport, command: string): string {
  const lines: string[] = [];
  lines.push(`Command: \`${command}\` (seed ${r.seed}, ${(r.durationMs / 1000).toFixed(0)} s)`, '');
  lines.push(
    '| calls | tried | served | quiet | refused | refusals by status | time to refusal p50 / p99 |',
    '|---|---:|---:|---:|---:|---|---:|',
  );
  let total = 0;
  for (const [kind, k] of Object.entries(r.kinds)) {
    total += k.tried;
    const refused = Object.values(k.refused).reduce((a, b) => a + b, 0);
    const by = Object.entries(k.refused)
      .sort((a, b) => b[1] - a[1])
      .map(([c, x]) => `${c} ${n(x)}`)
      .join(', ');
    lines.push(
      `| ${kind} | ${n(k.tried)} | ${n(k.served)} | ${n(k.quiet)} | ${n(refused)} | ${by}${k.transport ? `; no status: ${transportOf(k)}` : ''} | ${k.refusalMs.p50} / ${k.refusalMs.p99} ms |`,
    );
  }
  lines.push(`| **all** | **${n(total)}** | | | | | |`, '');
  lines.push('| flood | tried | outcomes | time |', '|---|---:|---|---:|');
  for (const f of r.floods) {
    const outcomes = Object.entries(f.outcomes)
      .sort((a, b) => b[1] - a[1])
      .map(([k, x]) => `${k}: ${n(x)}`)
      .join('; ');
    lines.push(`| ${f.name} | ${n(f.tried)} | ${outcomes} | ${(f.ms / 1000).toFixed(1)} s |`);
  }
  lines.push('', '| refusals by the limit or rule named | count |', '|---|---:|');
  for (const [rule, x] of Object.entries(r.byRule).sort((a, b) => b[1] - a[1])) lines.push(`| ${rule} | ${n(x)} |`);
  lines.push('', '| status | count |', '|---|---:|');
  for (const [code, x] of Object.entries(r.byStatus).sort((a, b) => b[1] - a[1])) lines.push(`| ${code} | ${n(x)} |`);
  const t = r.traffic;
  lines.push(
    '',
    '| effect | figure |',
    '|---|---|',
    `| Spillway peak RSS (VmHWM) | ${mib(r.memory.peakRss)} (bound ${MEMORY_BOUND_BYTES / MiB} MiB); RSS ${mib(r.memory.baselineRss)} before, ${mib(r.memory.peakDuringCalls)} peak during the calls, ${mib(r.memory.peakDuringFloods)} during the floods, ${mib(r.memory.finalRss)} after |`,
    `| Spillway V8 heap in use | ${mib(r.memory.heapBefore)} before, ${mib(r.memory.heapAfter)} after |`,
    `| real requests through the two Envoys | ${n(t.sent)} sent, ${n(t.ok)} served in-house, ${n(t.failed)} failed (${Object.entries(
      t.perEnvoy,
    )
      .map(([e, x]) => `${e} ${n(x)}`)
      .join(', ')}) |`,
    `| mode / Modal weight seen during the run | ${r.weights.modes.join(', ')} / ${r.weights.modalWeights.join(', ')} |`,
    `| snapshots published during the run | ${r.weights.publishesAfter - r.weights.publishesBefore} |`,
    `| Envoys' ClusterLoadAssignment (digest) before → after | ${r.weights.edsBefore.join(', ')} → ${r.weights.edsAfter.join(', ')} |`,
    `| Envoys still on their xDS stream | ${r.envoysConnected.filter(Boolean).length} of ${r.envoysConnected.length} |`,
    `| open ADS streams before → after | ${r.streams.before} → ${r.streams.after} |`,
    `| Envoys on LRS before → after | ${r.lrsEnvoys.before} → ${r.lrsEnvoys.after} |`,
    `| refusals that did not name the problem | ${r.violations.length} |`,
    `| Spillway log | ${(r.log.bytes / 1024).toFixed(0)} KiB: ${n(r.log.auditLines)} audit lines (one per admin mutation attempt), ${n(r.log.otherWarnLines)} other warnings (refusals are logged once per peer and rule) |`,
  );
  return lines.join('\n');
}
