// Renders the simulator's results as the "Trace simulator" section of BENCHMARKS.md and splices
// it in without touching other sections.
import type { SimParams, SimResult } from './engine.js';
import type { Trace } from './traces.js';

const HEADING = '## Trace simulator';

export function renderSection(results: SimResult[], traces: Trace[], p: SimParams): string {
  const lines: string[] = [HEADING, ''];
  lines.push('Produced by `npm run sim` (= `tsx src/sim/main.ts`); deterministic (seed ' + p.seed + '), no wall-clock input.', '');
  lines.push(
    `Model: in-house 10 hosts × ${p.slotsPerHost} slots, lognormal service time mean ${p.serviceMeanMs} ms (cv ${p.serviceCv}) ⇒ 800 rps at ρ = 1, 640 rps at ρ* = 0.8; ` +
      `Envoy pending limit ${p.pendingLimit} (overflow ⇒ fast 503), route timeout ${p.routeTimeoutMs / 1000} s, xDS delay ${p.xdsDelayMs} ms + update_merge_window ${p.mergeWindowMs} ms; ` +
      `LRS every ${p.lrsIntervalMs / 1000} s; Modal max_inputs ${p.modalMaxInputs}, target_inputs ${p.modalTargetInputs}, max_containers ${p.modalMaxContainers}, +${p.modalExtraMs} ms WAN, ` +
      `cold start lognormal mean ${p.coldStartMeanMs / 1000} s (cv ${p.coldStartCv}), scaledown window ${p.scaledownWindowMs / 1000} s, per-second billing, 150 s cap; ` +
      `stats polled every ${p.pollIntervalMs / 1000} s with ${p.pollDelayMs} ms delay; autoscaler updates applied after ${p.actuatorDelayMs / 1000} s, ≥ 10 s apart.`,
    '',
  );
  lines.push('Policies: `static 25 %` (fixed split), `seed` (3 s poll), `default` (1 s tick), `oracle` (reads the trace\'s future: exact excess share with no xDS delay, min_containers one p90 cold start ahead).', '');
  lines.push('Columns: shed = fast 503s (drop_overloads + breaker overflow) + timeouts/5xx, % of requests; p50/p99 of served requests; Modal c·s = container-seconds billed (incl. cold start and idle tail) and ratio to the oracle; cold hits = requests that waited in Modal\'s backlog for a container; spill = seconds from the step until Envoy\'s applied Modal share reaches 90 % of the needed share; pushes/min = EDS plan changes per minute; TV = total variation of the Modal share, Σ|Δshare|.', '');
  for (const tr of traces) {
    const rows = results.filter((r) => r.trace === tr.name);
    if (rows.length === 0) continue;
    const oracleCs = rows.find((r) => r.policy === 'oracle')?.modalContainerSeconds ?? NaN;
    lines.push(`### ${tr.name}: ${tr.description}`, '');
    lines.push('| policy | shed % | p50 ms | p99 ms | Modal c·s | × oracle | cold hits | spill s | pushes/min | TV |');
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      const shed = (100 * (r.shed + r.errors)) / r.requests;
      lines.push(
        `| ${r.policy} | ${shed.toFixed(2)} | ${r.p50Ms.toFixed(0)} | ${r.p99Ms.toFixed(0)} | ${r.modalContainerSeconds.toFixed(0)} | ${(r.modalContainerSeconds / oracleCs).toFixed(2)} | ${r.coldHits} | ${r.timeToSpillS === null ? '—' : r.timeToSpillS.toFixed(1)} | ${r.pushesPerMin.toFixed(1)} | ${r.weightVariation.toFixed(2)} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** Replaces (or appends) the "## Trace simulator" section, up to the next "## " heading. */
export function replaceSection(doc: string, section: string): string {
  const start = doc.indexOf(HEADING);
  if (start < 0) return `${doc.trimEnd()}\n\n${section.trimEnd()}\n`;
  const next = doc.indexOf('\n## ', start + HEADING.length);
  const tail = next < 0 ? '' : doc.slice(next + 1);
  return `${doc.slice(0, start)}${section.trimEnd()}\n${tail ? `\n${tail}` : ''}`;
}
