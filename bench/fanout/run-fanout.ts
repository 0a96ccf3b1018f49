// npm run bench:fanout — the xDS fan-out benchmark (BENCHMARKS.md "xDS fan-out").
//   --sizes 100,1000,5000 --protocols sotw,delta --runs 3 --warmup 5 --pushes 10
//   --profile DIR   one extra profiling run per protocol: CPU profiles of the push phase only
//   --runtime dist|tsx  how the Spillway child runs (default dist: compiled, plain node, as in production)
//   --no-md         do not rewrite BENCHMARKS.md
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Protocol } from './ads-load-client.js';
import { FANOUT_OPTIONS } from './cli-options.js';
import { buildCompiledChild } from './compiled-child.js';
import { describeRun, runOnce, type RunResult } from './fanout-run.js';
import { renderSection, STANDING_NOTES, summarize, writeSection, type Machine } from './report.js';

const { values } = parseArgs({
  options: {
    ...FANOUT_OPTIONS,
    profile: { type: 'string' },
    'profile-streams': { type: 'string', default: '1000' },
    'profile-pushes': { type: 'string', default: '40' },
    runtime: { type: 'string', default: 'dist' },
  },
});

const sizes = values.sizes.split(',').map(Number);
const protocols = values.protocols.split(',') as Protocol[];
const runs = Number(values.runs);
const pushes = Number(values.pushes);
const warmup = Number(values.warmup);
const services = Number(values.services);
const streamsPerChannel = Number(values['per-channel']);
const openPerSecond = Number(values['open-rate']);

function cpuModel(): string {
  const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return m?.[1]?.trim() ?? 'unknown';
}

const machine: Machine = {
  nproc: availableParallelism(),
  cpuModel: cpuModel(),
  node: process.version,
  loadAvgStart: loadavg(),
  loadAvgEnd: [],
};
const started = new Date();
let pushSeed = 0;
const runtime = values.runtime === 'tsx' ? 'tsx' : 'dist';
if (runtime === 'dist') buildCompiledChild();
const base = { services, streamsPerChannel, openPerSecond, warmup, runtime } as const;

if (values.profile) {
  // Profiling runs are separate: the profiler slows Spillway down, so their timings are not reported.
  mkdirSync(values.profile, { recursive: true });
  for (const protocol of protocols) {
    const streams = Number(values['profile-streams']);
    const r = await runOnce({
      ...base,
      streams,
      protocol,
      pushes: Number(values['profile-pushes']),
      pushSeed,
      cpuProfDir: `${values.profile}/${protocol}-${streams}`,
    });
    pushSeed += r.pushes.length;
    process.stdout.write(`[profile] ${describeRun(r)}\n`);
  }
  process.stdout.write(
    `profiles in ${values.profile}/<protocol>-<N>/{spillway,load-client}.cpuprofile (summarize: npx tsx bench/fanout/profile-summary.ts FILE)\n`,
  );
  process.exit(0);
}

const results = new Map<string, RunResult[]>();
// Interleave sizes and protocols within each round so background noise spreads over all of them.
for (let run = 1; run <= runs; run++) {
  for (const streams of sizes) {
    for (const protocol of protocols) {
      const r = await runOnce({ ...base, streams, protocol, pushes, pushSeed });
      pushSeed += warmup + pushes;
      const key = `${streams}/${protocol}`;
      results.set(key, [...(results.get(key) ?? []), r]);
      process.stdout.write(`[run ${run}/${runs}] ${describeRun(r)}\n`);
    }
  }
}
machine.loadAvgEnd = loadavg();

const summaries = sizes.flatMap((streams) =>
  protocols.map((protocol) => summarize(streams, protocol, results.get(`${streams}/${protocol}`) ?? [])),
);
const stamp = started.toISOString().replace(/[:.]/g, '-');
const resultsFile = `bench/results/fanout-${stamp}.json`;
const argv = process.argv.slice(2).join(' ');
const command = `npm run bench:fanout${argv ? ` -- ${argv}` : ''}`;
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  resultsFile,
  `${JSON.stringify({ benchmark: 'xds-fanout', startedAt: started.toISOString(), command, machine, options: { sizes, protocols, runs, pushes, ...base }, summaries, runs: Object.fromEntries(results) }, null, 1)}\n`,
);
process.stdout.write(`\nresults: ${resultsFile}\n`);
for (const s of summaries) {
  process.stdout.write(
    `N=${s.streams} ${s.protocol}: p99 ${s.p99Ms.median} (${s.p99Ms.min}–${s.p99Ms.max}) ms, last ${s.maxMs.median} ms, RSS ${s.rssPerStreamKiB.median.toFixed(1)} KiB/stream, CPU ${s.cpuMsPerPush.median} ms/push\n`,
  );
}
if (!values['no-md']) {
  const section = renderSection({
    machine,
    command,
    resultsFile,
    pushes,
    warmup,
    services,
    streamsPerChannel,
    summaries,
    notes: [...STANDING_NOTES, ...values.note],
  });
  writeSection('BENCHMARKS.md', section);
  process.stdout.write('BENCHMARKS.md: "xDS fan-out" section updated\n');
}
process.exit(0);
