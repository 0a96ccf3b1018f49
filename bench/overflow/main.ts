// `npm run bench:overflow`: step and burst × seed and default policies through a real Envoy, real
// open-loop traffic and the fake Modal with cold starts, each next to the simulator's prediction
// for the same parameters. Writes bench/results/overflow-<time>.json and prints the table.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { rigFor, SHAPES, type PolicyName, type ShapeName } from './cells.js';
import { runCell, type CellOutcome } from './run-cell.js';
import { simulateCell, type SimPrediction } from './sim-cell.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const runs = Number(values.runs);
const log = (s: string): void => void process.stdout.write(`${s}\n`);
const shapes: ShapeName[] = ['step', 'burst'];
const policies: PolicyName[] = ['seed', 'default'];
const started = new Date();

const real = new Map<string, CellOutcome[]>();
// Interleaved across cells so machine noise spreads over all of them.
for (let r = 0; r < runs; r++) {
  for (const shape of shapes) {
    for (const policy of policies) {
      log(`${shape}/${policy}: run ${r + 1}/${runs} (load ${loadavg()[0]!.toFixed(2)})`);
      const o = await runCell(shape, policy, 7 + r);
      log(
        `  shed ${o.shedPct.toFixed(2)} %, p99 ${o.p99Ms} ms, Modal ${o.modalContainerSeconds} c·s, waited ${o.coldHits.waited}, met cold start ${o.coldHits.metColdStart}`,
      );
      const k = `${shape}/${policy}`;
      real.set(k, [...(real.get(k) ?? []), o]);
    }
  }
}

const med = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const spread = (xs: number[], d = 0): string => (xs.length > 1 ? ` (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})` : '');
const gap = (r: number, s: number): string => (s === 0 && r === 0 ? '0 %' : s === 0 ? 'n/a' : `${(((r - s) / s) * 100).toFixed(0)} %`);

const rows: string[] = [
  '| cell | runs | shed % real (min–max) / sim | p99 ms real / sim | Modal c·s real / sim | waited for a container real / sim | met a cold start (real) | pushes real / sim |',
  '|---|---:|---|---|---|---|---:|---|',
];
const cells: Array<{ cell: string; real: CellOutcome[]; sim: SimPrediction; simMerge1s: SimPrediction; gaps: Record<string, string> }> = [];
for (const shape of shapes) {
  for (const policy of policies) {
    const k = `${shape}/${policy}`;
    const rs = real.get(k) ?? [];
    const sim = simulateCell(shape, policy, 0);
    const simMerge1s = simulateCell(shape, policy, 1000);
    const m = {
      shed: med(rs.map((r) => r.shedPct)),
      p99: med(rs.map((r) => r.p99Ms)),
      cs: med(rs.map((r) => r.modalContainerSeconds)),
      waited: med(rs.map((r) => r.coldHits.waited)),
      cold: med(rs.map((r) => r.coldHits.metColdStart)),
      pushes: med(rs.map((r) => r.pushes)),
    };
    const gaps = {
      shed: gap(m.shed, sim.shedPct),
      p99: gap(m.p99, sim.p99Ms),
      cs: gap(m.cs, sim.modalContainerSeconds),
      waited: gap(m.waited, sim.coldHits),
      pushes: gap(m.pushes, sim.pushes),
    };
    cells.push({ cell: k, real: rs, sim, simMerge1s, gaps });
    rows.push(
      `| ${k} | ${rs.length} | ${m.shed.toFixed(2)}${spread(
        rs.map((r) => r.shedPct),
        2,
      )} / ${sim.shedPct.toFixed(2)} | ${m.p99.toFixed(0)}${spread(rs.map((r) => r.p99Ms))} / ${sim.p99Ms.toFixed(0)} | ${m.cs.toFixed(0)}${spread(rs.map((r) => r.modalContainerSeconds))} / ${sim.modalContainerSeconds.toFixed(0)} | ${m.waited.toFixed(0)}${spread(rs.map((r) => r.coldHits.waited))} / ${sim.coldHits.toFixed(0)} | ${m.cold.toFixed(0)} | ${m.pushes.toFixed(0)} / ${sim.pushes.toFixed(1)} |`,
    );
  }
}
const out = {
  started: started.toISOString(),
  finished: new Date().toISOString(),
  command: `npm run bench:overflow -- --runs ${runs}`,
  machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavgAtEnd: loadavg() },
  scenarios: Object.fromEntries(shapes.map((s) => [s, SHAPES[s]()])),
  rigs: Object.fromEntries(policies.map((p) => [p, rigFor(p)])),
  cells,
};
mkdirSync('bench/results', { recursive: true });
const path = `bench/results/overflow-${started.toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(path, `${JSON.stringify(out, null, 1)}\n`);
log(`\n${rows.join('\n')}\n\nwrote ${path}`);
process.exit(0);
