// Re-renders BENCHMARKS.md's "xDS fan-out" section from a results file (e.g. after editing the
// notes in report.ts) without re-running the benchmark.
//   npx tsx bench/fanout/render-report.ts bench/results/fanout-<stamp>.json
import { readFileSync } from 'node:fs';
import { renderSection, STANDING_NOTES, writeSection, type ConfigSummary, type Machine } from './report.js';

const file = process.argv[2];
if (!file) throw new Error('usage: render-report.ts RESULTS.json');
const r = JSON.parse(readFileSync(file, 'utf8')) as {
  command: string;
  machine: Machine;
  options: { pushes: number; warmup?: number; services: number; streamsPerChannel: number };
  summaries: ConfigSummary[];
};
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
    summaries: r.summaries,
    notes: [...STANDING_NOTES, ...process.argv.slice(3)],
  }),
);
process.stdout.write(`BENCHMARKS.md: "xDS fan-out" section rendered from ${file}\n`);
