// npm run bench:compare — Spillway and go-control-plane side by side, measured by the same fan-out
// load tool in the same run (BENCHMARKS.md "Side by side with go-control-plane").
//   --sizes 100,1000,5000,10000 --protocols sotw,delta --runs 3 --warmup 5 --pushes 10 --idle-ms 5000
//   --no-md   do not rewrite BENCHMARKS.md (the JSON and the .md next to it are always written)
// Go is an optional tool, like the Envoy venv: without it the comparison is skipped with a message.
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Protocol } from '../fanout/ads-load-client.js';
import { SpillwayChild, type BenchServer } from '../fanout/child-handle.js';
import { FANOUT_OPTIONS } from '../fanout/cli-options.js';
import { buildCompiledChild } from '../fanout/compiled-child.js';
import { describeRun, runOnce, type RunResult } from '../fanout/fanout-run.js';
import { writeSection, type Machine } from '../fanout/report.js';
import { COMPARE_TITLE, FAIRNESS_NOTES, renderCompare, verdictLines, type CompareResults } from './compare-report.js';
import { buildGoControlPlane, GO_CONTROL_PLANE_VERSION, GoControlPlaneChild, goVersion } from './gcp-child.js';

const { values } = parseArgs({
  options: {
    ...FANOUT_OPTIONS,
    sizes: { type: 'string', default: '100,1000,5000,10000' },
    'idle-ms': { type: 'string', default: '5000' },
  },
});

const go = goVersion();
if (!go) {
  process.stdout.write(
    'bench:compare skipped: Go is not installed. The go-control-plane side is built from bench/compare/main.go with ' +
      '`go build` (modules from the Go module proxy, pinned in bench/compare/go.mod); install Go and run again.\n',
  );
  process.exit(0);
}

const sizes = values.sizes.split(',').map(Number);
const protocols = values.protocols.split(',') as Protocol[];
const runs = Number(values.runs);
const pushes = Number(values.pushes);
const warmup = Number(values.warmup);
const services = Number(values.services);
const idleMs = Number(values['idle-ms']);

process.stdout.write(`building go-control-plane ${GO_CONTROL_PLANE_VERSION} (${go}) and the compiled Spillway child…\n`);
buildGoControlPlane();
buildCompiledChild();

const goMod = readFileSync(new URL('./go.mod', import.meta.url), 'utf8');
const required = (mod: string): string => new RegExp(`^\\s*${mod.replace(/[./]/g, '\\$&')} (\\S+)`, 'm').exec(goMod)?.[1] ?? 'unknown';
const cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
const machine: Machine = { nproc: availableParallelism(), cpuModel, node: process.version, loadAvgStart: loadavg(), loadAvgEnd: [] };
const started = new Date();

const servers: Record<string, () => Promise<BenchServer>> = {
  spillway: () => SpillwayChild.start({ services, runtime: 'dist' }),
  'go-control-plane': () => GoControlPlaneChild.start({ services }),
};
const results: Record<string, RunResult[]> = {};
let pushSeed = 0;
for (let run = 1; run <= runs; run++) {
  for (const streams of sizes) {
    for (const protocol of protocols) {
      // Alternate who goes first, so a drift in background load does not always favour one side.
      const order = (run + sizes.indexOf(streams)) % 2 === 0 ? ['spillway', 'go-control-plane'] : ['go-control-plane', 'spillway'];
      for (const name of order) {
        const r = await runOnce({
          streams,
          protocol,
          pushes,
          warmup,
          services,
          streamsPerChannel: Number(values['per-channel']),
          openPerSecond: Number(values['open-rate']),
          pushSeed,
          server: servers[name],
          idleMs,
        });
        const key = `${name}/${streams}/${protocol}`;
        (results[key] ??= []).push(r);
        process.stdout.write(`[run ${run}/${runs}] ${describeRun(r)}\n`);
      }
      pushSeed += warmup + pushes;
    }
  }
}
machine.loadAvgEnd = loadavg();

const argv = process.argv.slice(2).join(' ');
const out: CompareResults = {
  command: `npm run bench:compare${argv ? ` -- ${argv}` : ''}`,
  startedAt: started.toISOString(),
  machine,
  versions: {
    node: process.version,
    go,
    goControlPlane: required('github.com/envoyproxy/go-control-plane'),
    envoyApi: required('github.com/envoyproxy/go-control-plane/envoy'),
    grpcGo: required('google.golang.org/grpc'),
  },
  options: { sizes, protocols, runs, pushes, warmup, services, idleMs },
  runs: results,
};
const stamp = started.toISOString().replace(/[:.]/g, '-');
const base = `bench/results/compare-${stamp}`;
mkdirSync('bench/results', { recursive: true });
writeFileSync(`${base}.json`, `${JSON.stringify(out, null, 1)}\n`);
const section = renderCompare(out, `${base}.json`, [...FAIRNESS_NOTES, ...values.note]);
writeFileSync(`${base}.md`, section);
process.stdout.write(`\n${section}\nresults: ${base}.json, ${base}.md\n`);
const behind = verdictLines(out);
process.stdout.write(behind.length ? `behind go-control-plane:\n  ${behind.join('\n  ')}\n` : 'ahead of go-control-plane on every cell\n');
if (!values['no-md']) {
  writeSection('BENCHMARKS.md', section, COMPARE_TITLE);
  process.stdout.write(`BENCHMARKS.md: "${COMPARE_TITLE.slice(3)}" section updated\n`);
}
process.exit(0);
