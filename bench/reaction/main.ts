// `npm run bench:reaction`: reaction time from a Modal stats change to the new weight running in a
// real Envoy's workers, with Envoy's default update_merge_window (what Spillway publishes today)
// and with the window set to 0, ≥ 3 runs each; `--modes single,replicas` adds three replicas on etcd
// with the Envoy on a follower. Writes bench/results/reaction-<time>.json.
// `--input lrs`: the input is a step in the offered load instead, which only Envoy's load reports
// carry (run-lrs-reaction.ts); `--windows` does not apply.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { HIGH_RPS, LOW_RPS, LRS_REACTION_RIG, runLrsReaction } from './run-lrs-reaction.js';
import { REACTION_RIG, runReaction, type ReactionRun } from './run-reaction.js';
import { markdown, summarize } from './summarize.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    changes: { type: 'string', default: '22' },
    windows: { type: 'string', default: 'default,0' },
    modes: { type: 'string', default: 'single' },
    input: { type: 'string', default: 'modal' },
  },
});
const modes = values.modes!.split(',').map((m) => {
  if (m !== 'single' && m !== 'replicas') throw new Error(`--modes: single or replicas, got ${m}`);
  return m;
});
const lrsInput = values.input === 'lrs';
const runs = Number(values.runs);
const changes = Number(values.changes);
const windows = lrsInput ? [undefined] : values.windows!.split(',').map((w) => (w === 'default' ? undefined : Number(w)));
const log = (s: string): void => void process.stdout.write(`${s}\n`);

const started = new Date();
const byConfig = new Map<string, ReactionRun[]>();
const labelOf = (w: number | undefined, mode: string): string =>
  (lrsInput
    ? `LRS step ${LOW_RPS} → ${HIGH_RPS} rps (lrs.interval_ms ${LRS_REACTION_RIG.lrsIntervalMs})`
    : w === undefined
      ? 'merge window unset (Envoy default 1 s)'
      : `update_merge_window ${w} ms`) + (mode === 'replicas' ? ', 3 replicas on etcd (Envoy on a follower)' : '');
// Interleaved (A, B, A, B, …) so machine noise lands on every configuration alike.
for (let r = 0; r < runs; r++) {
  for (const mode of modes) {
    for (const w of lrsInput ? [undefined] : windows) {
      log(`${labelOf(w, mode)}: run ${r + 1}/${runs} (load ${loadavg()[0]!.toFixed(2)})`);
      const run = lrsInput
        ? await runLrsReaction({ changes, seed: 100 + r, ...(mode === 'replicas' ? { replicas: 3 } : {}) }, log)
        : await runReaction({ changes, mergeWindowMs: w, seed: 100 + r, ...(mode === 'replicas' ? { replicas: 3 } : {}) }, log);
      const list = byConfig.get(labelOf(w, mode)) ?? [];
      list.push(run);
      byConfig.set(labelOf(w, mode), list);
    }
  }
}
const summaries = [...byConfig].map(([label, rs]) => summarize(label, rs));
const table = markdown(summaries);
const out = {
  started: started.toISOString(),
  finished: new Date().toISOString(),
  command: `npm run bench:reaction -- --runs ${runs} --changes ${changes} ${lrsInput ? '--input lrs' : `--windows ${values.windows}`} --modes ${values.modes}`,
  machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavgAtEnd: loadavg() },
  rig: lrsInput ? LRS_REACTION_RIG : REACTION_RIG,
  summaries,
  runs: Object.fromEntries(byConfig),
};
mkdirSync('bench/results', { recursive: true });
const path = `bench/results/reaction-${lrsInput ? 'lrs-' : ''}${started.toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(path, `${JSON.stringify(out, null, 1)}\n`);
log(`\n${table}\n\nwrote ${path}`);
process.exit(0);
