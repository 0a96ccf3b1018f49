// npm run bench:rest — where a started Spillway's RSS at rest comes from (BENCHMARKS.md,
// "Performance targets (issue 18)"). One plain-node process (no tsx: its loader would be charged)
// loads, in order, what a Spillway loads, and reads its RSS after two full GCs at each step:
// Node alone, the gRPC stack, the other libraries Spillway serves with, Spillway's own modules
// (compiled, as production runs them), Envoy's protos, then a started Spillway (the benchmark's
// 10 services, no stream). V8's young generation is held from the first line, as src/cli.ts does.
//   --runs 3   processes measured (medians printed)
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildCompiledChild } from './compiled-child.js';
import { median, round } from './stats.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const root = fileURLToPath(new URL('../../', import.meta.url));
const dist = (path: string): string => pathToFileURL(`${root}.tmp/bench-dist/${path}`).href;

/** Each step: a label and what it imports (or runs) after the steps before it. */
const STEPS: Array<[string, string]> = [
  ['node alone', ''],
  ['+ @grpc/grpc-js', `await import('@grpc/grpc-js');`],
  ['+ @grpc/proto-loader, protobufjs', `await import('@grpc/proto-loader'); await import('protobufjs');`],
  [
    // What a started Spillway has loaded besides the gRPC stack (its require cache; prom-client brings @opentelemetry/api).
    '+ pino, prom-client, yaml, cockatiel, grpc-health-check, @grpc/reflection',
    `for (const m of ['pino', 'prom-client', 'yaml', 'cockatiel', 'grpc-health-check', '@grpc/reflection']) await import(m);`,
  ],
  [
    "+ Spillway's modules",
    `app = await import('${dist('src/app/spillway-app.js')}'); logger = await import('${dist('src/core/logger.js')}'); fixture = await import('${dist('bench/fanout/fanout-config.js')}'); protos = await import('${dist('src/protos/load-protos.js')}');`,
  ],
  ["+ Envoy's and Spillway's protos loaded", `protos.loadProtos();`],
  [
    'started: 10 services, no stream',
    `started = await app.startSpillway(fixture.fanoutConfig(10), { logger: logger.createLogger({ level: 'info', destination: (await import('node:fs')).createWriteStream('/dev/null') }) });`,
  ],
];

const script = [
  `import '${dist('src/core/hold-young-generation.js')}';`,
  `const v8 = await import('node:v8');`,
  `let app, logger, fixture, protos, started;`,
  `const out = [];`,
  `const fs = await import('node:fs');`,
  // Linux splits RSS into anonymous pages (the heaps: this process's own) and file pages (the node binary and shared libraries, mapped as code runs).
  `const kib = (field) => { const line = fs.readFileSync('/proc/self/status', 'utf8').split('\\n').find((l) => l.startsWith(field + ':')); return line ? parseInt(line.slice(field.length + 1), 10) * 1024 : NaN; };`,
  `const read = () => { gc(); gc(); const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size; out.push([process.memoryUsage().rss, process.memoryUsage().heapUsed, young, kib('RssAnon'), kib('RssFile')]); };`,
  ...STEPS.map(([, code]) => `${code} read();`),
  `await started.stop();`,
  `process.stdout.write(JSON.stringify(out));`,
].join('\n');

buildCompiledChild();
const runs: number[][][] = [];
for (let i = 0; i < Number(values.runs); i++) {
  const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  runs.push(JSON.parse(out.slice(out.lastIndexOf('[['))) as number[][]);
}
const MiB = 2 ** 20;
console.log(`RSS after two full GCs, medians of ${runs.length} processes (range)`);
console.log('| step | RSS MiB | of which anonymous | of which file pages | JS heap used MiB | young generation MiB |');
console.log('|---|---:|---:|---:|---:|---:|');
STEPS.forEach(([label], i) => {
  const col = (k: number): number[] => runs.map((r) => (r[i]?.[k] ?? Number.NaN) / MiB);
  const rss = col(0);
  console.log(
    `| ${label} | ${round(median(rss), 1)} (${round(Math.min(...rss), 1)}–${round(Math.max(...rss), 1)}) | ${round(median(col(3)), 1)} | ${round(median(col(4)), 1)} | ${round(median(col(1)), 1)} | ${round(median(col(2)), 1)} |`,
  );
});
