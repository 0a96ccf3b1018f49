// `npm run sim`: every trace × every policy, then the table into BENCHMARKS.md (section
// "Trace simulator" only). Deterministic: fixed seeds, no wall clock in the results.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { DEFAULT_SIM, simulate, type SimResult } from './engine.js';
import { defaultController, oracle, seedController, staticSplit } from './policies.js';
import { traces } from './traces.js';
import { renderSection, replaceSection } from './report.js';

const args = process.argv.slice(2);
const write = !args.includes('--no-write');
const only = args.find((a) => a.startsWith('--trace='))?.slice('--trace='.length);

const started = performance.now();
const results: SimResult[] = [];
for (const tr of traces()) {
  if (only && tr.name !== only) continue;
  for (const ctl of [staticSplit(0.25), seedController(), defaultController(), oracle()]) {
    const r = simulate(tr, ctl, DEFAULT_SIM);
    results.push(r);
    process.stdout.write(
      `${tr.name.padEnd(14)} ${r.policy.padEnd(10)} shed ${((100 * (r.shed + r.errors)) / r.requests).toFixed(2)} %  p99 ${r.p99Ms.toFixed(0)} ms  Modal ${r.modalContainerSeconds.toFixed(0)} c·s  pushes ${r.pushes}\n`,
    );
  }
}
const section = renderSection(results, traces(), DEFAULT_SIM);
if (write && !only) {
  const path = 'BENCHMARKS.md';
  const before = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  writeFileSync(path, replaceSection(before, section));
  process.stdout.write(`wrote ${path} (section "Trace simulator")\n`);
}
process.stdout.write(`done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
