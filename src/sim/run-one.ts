// Dev helper: npx tsx src/sim/run-one.ts <trace> — prints every policy's result on one trace.
import { simulate } from './engine.js';
import { defaultController, oracle, seedController, staticSplit } from './policies.js';
import { traces } from './traces.js';

const name = process.argv[2] ?? 'step-150';
const tr = traces().find((t) => t.name === name);
if (!tr) throw new Error(`unknown trace ${name}`);
for (const c of [staticSplit(0.25), seedController(), defaultController(), oracle()]) {
  const t0 = performance.now();
  const r = simulate(tr, c);
  console.log(JSON.stringify({ ...r, ms: Math.round(performance.now() - t0) }));
}
