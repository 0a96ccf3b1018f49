// `npm run bench:reaction`: reaction time from a Modal stats change to the new weight running in a
// real Envoy's workers, with Envoy's default update_merge_window (what Spillway publishes today)
// and with the window set to 0, ≥ 3 runs each. Writes bench/results/reaction-<time>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { REACTION_RIG, runReaction, type ReactionRun } from './run-reaction.js';
import { markdown, summarize } from './summarize.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    changes: { type: 'string', default: '22' },
    windows: { type: 'string', default: 'default,0' },
  },
});
const runs = Number(values.runs);
const changes = Number(values.changes);
const windows = values.windows!.split(',').map((w) => (w === 'default' ? undefined : Number(w)));
const log = (s: string): void => void process.stdout.write(`${s}\n`);

const started = new Date();
const byConfig = new Map<string, ReactionRun[]>();
const labelOf = (w: number | undefined): string =>
  w === undefined ? 'merge window unset (Envoy default 1 s)' : `update_merge_window ${w} ms`;
// Interleaved (A, B, A, B, …) so machine noise lands on both configurations alike.
for (let r = 0; r < runs; r++) {
  for (const w of windows) {
    log(`${labelOf(w)}: run ${r + 1}/${runs} (load ${loadavg()[0]!.toFixed(2)})`);
    const run = await runReaction({ changes, mergeWindowMs: w, seed: 100 + r }, log);
    const list = byConfig.get(labelOf(w)) ?? [];
    list.push(run);
    byConfig.set(labelOf(w), list);
  }
}
const summaries = [...byConfig].map(([label, rs]) => summarize(label, rs));
const table = markdown(summaries);
const out = {
  started: started.toISOString(),
  finished: new Date().toISOString(),
  command: `npm run bench:reaction -- --runs ${runs} --changes ${changes} --windows ${values.windows}`,
  machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavgAtEnd: loadavg() },
  rig: REACTION_RIG,
  summaries,
  runs: Object.fromEntries(byConfig),
};
mkdirSync('bench/results', { recursive: true });
const path = `bench/results/reaction-${started.toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(path, `${JSON.stringify(out, null, 1)}\n`);
log(`\n${table}\n\nwrote ${path}`);
process.exit(0);
