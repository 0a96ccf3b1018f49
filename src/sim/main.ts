// `npm run sim`: every trace × every policy, then the table into BENCHMARKS.md (section
// "Trace simulator" only). Deterministic: fixed seeds, no wall clock in the results.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { DEFAULT_SIM, simulate, type SimResult } from './engine.js';
import { defaultController, noWaitController, oracle, seedController, staticSplit } from './policies.js';
import { traces } from './traces.js';
import { figuresOf, overloadCell, renderSection, replaceSection } from './report.js';

const args = process.argv.slice(2);
const write = !args.includes('--no-write');
const only = args.find((a) => a.startsWith('--trace='))?.slice('--trace='.length);

const started = performance.now();
const results: SimResult[] = [];
for (const tr of traces()) {
  if (only && tr.name !== only) continue;
  const rows = [staticSplit(0.25), seedController(), defaultController(), noWaitController(), oracle()].map((ctl) =>
    simulate(tr, ctl, { ...DEFAULT_SIM, ...tr.params }),
  );
  const o = rows.find((r) => r.policy === 'oracle')!;
  for (const r of rows) {
    results.push(r);
    const f = figuresOf(r, o);
    process.stdout.write(
      `${tr.name.padEnd(13)} ${r.policy.padEnd(10)} goodput ${(100 * f.goodputVsFeasible).toFixed(1)} %  in-house 503 ${overloadCell(f)} %  waste ${f.wastedSpillPct.toFixed(1)} %  shed ${f.shedPct.toFixed(2)} %  other ${f.otherFailedPct.toFixed(2)} %  p99 ${f.p99Ms.toFixed(0)} ms  c·s ×${f.costVsOracle.toFixed(2)}  pushes/min ${f.pushesPerMin.toFixed(1)}\n`,
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
