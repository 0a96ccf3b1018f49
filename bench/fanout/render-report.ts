// Re-renders BENCHMARKS.md's "xDS fan-out" section from a results file (e.g. after changing the
// report) without re-running the benchmark. Summaries are recomputed from the stored runs.
//   npx tsx bench/fanout/render-report.ts bench/results/fanout-<stamp>.json [extra note …]
import { readFileSync } from 'node:fs';
import type { Protocol } from './ads-load-client.js';
import type { RunResult } from './fanout-run.js';
import { renderSection, STANDING_NOTES, summarize, writeSection, type Machine } from './report.js';

const file = process.argv[2];
if (!file) throw new Error('usage: render-report.ts RESULTS.json');
const r = JSON.parse(readFileSync(file, 'utf8')) as {
  command: string;
  machine: Machine;
  options: { pushes: number; warmup?: number; services: number; streamsPerChannel: number };
  runs: Record<string, RunResult[]>;
};
const summaries = Object.entries(r.runs).map(([key, runs]) => {
  const [streams, protocol] = key.split('/') as [string, Protocol];
  return summarize(Number(streams), protocol, runs);
});
writeSection(
  'BENCHMARKS.md',
  renderSection({
    machine: r.machine,
    command: r.command,
    resultsFile: file,
    pushes: r.options.pushes,
    warmup: r.options.warmup ?? 0,
    services: r.options.services,
    streamsPerChannel: r.options.streamsPerChannel,
    summaries,
    notes: [...STANDING_NOTES, ...process.argv.slice(3)],
  }),
);
process.stdout.write(`BENCHMARKS.md: "xDS fan-out" section rendered from ${file}\n`);
