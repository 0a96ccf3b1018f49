// `npm run bench:overflow`: every cell × the seed and default policies through a real Envoy, real
// open-loop traffic and the fake Modal with cold starts, each next to the simulator's prediction for
// the same parameters, and both judged against the causal oracle ("feasible"). Writes
// bench/results/overflow-<time>.json, prints the table, and replaces the "Overflow quality through
// real Envoy" section of BENCHMARKS.md (with --write).
//   npm run bench:overflow -- --runs 1 --cells step,hover --write
//   npm run bench:overflow -- --policies default   (one policy only; --write still replaces the whole section)
//   npm run bench:overflow -- --policies seed,default,no-wait --runs 3 --write   (no-wait: default with modal_wait_budget_ms 0)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { median } from '../../src/core/percentile.js';
import type { SimResult } from '../../src/sim/engine.js';
import { figuresOf, missesOf, overloadCell, TARGETS, type CellFigures } from '../../src/sim/report.js';
import { CELL_NAMES, CELLS, POLICIES, rigFor, type CellName, type PolicyName } from './cells.js';
import { runCell, type CellOutcome } from './run-cell.js';
import { simulateCell } from './sim-cell.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    cells: { type: 'string' },
    policies: { type: 'string', default: 'seed,default' },
    write: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const cells: CellName[] = values.cells ? (values.cells.split(',') as CellName[]) : CELL_NAMES;
for (const c of cells) if (!(c in CELLS)) throw new Error(`unknown cell "${c}" (have: ${CELL_NAMES.join(', ')})`);
const policies = values.policies.split(',') as PolicyName[];
for (const p of policies) if (!(p in POLICIES)) throw new Error(`unknown policy "${p}" (have: ${Object.keys(POLICIES).join(', ')})`);
// The section's table is judged against seed (pushes) and shows both: a one-policy run must not replace it.
if (values.write && !(policies.includes('seed') && policies.includes('default')))
  throw new Error('--write needs the seed and default policies (the table compares them)');
const log = (s: string): void => void process.stdout.write(`${s}\n`);
/** How the section describes each policy it has rows for. */
const POLICY_NOTES: ReadonlyArray<readonly [PolicyName, string]> = [
  ['seed', '`seed`'],
  ['default', '`default` (a spilled request may wait up to `modal_wait_budget_ms`, 15 s by default, inside Modal, a cold start included)'],
  [
    'no-wait',
    '`no-wait` — the default policy with `modal_wait_budget_ms: 0`, for clients that would rather be refused at once than wait: a crowd into a cold tier is shed at the edge until Modal is warm',
  ],
];
const started = new Date();

/** A real run in the figures the simulator reports, against the simulated oracle of the same cell. */
function realFigures(o: CellOutcome, oracleRuns: SimResult[]): CellFigures {
  const oracleServedRatio = median(oracleRuns.map((r) => r.served / r.requests));
  const oracleCs = median(oracleRuns.map((r) => r.modalContainerSeconds));
  return {
    goodputVsFeasible: o.served / Math.max(1, o.requests) / oracleServedRatio,
    inHouseOverloadPct: (100 * (o.inHouseRejected - o.inHouseRejectedUnforeseeable)) / Math.max(1, o.inHouseAnswered),
    inHouseOverloadAllPct: (100 * o.inHouseRejected) / Math.max(1, o.inHouseAnswered),
    wastedSpillPct: (100 * o.wastedSpill) / Math.max(1, o.modalServed),
    shedPct: (100 * o.shed) / Math.max(1, o.requests),
    otherFailedPct: (100 * o.otherFailed) / Math.max(1, o.requests),
    p50Ms: o.p50Ms,
    p99Ms: o.p99Ms,
    costVsOracle: oracleCs > 0 ? o.modalContainerSeconds / oracleCs : o.modalContainerSeconds > 0 ? Infinity : 1,
    pushesPerMin: o.pushes / (o.durationS / 60),
  };
}

/** Median of each figure over runs. */
function medianFigures(fs: CellFigures[]): CellFigures {
  const m = (k: keyof CellFigures): number => median(fs.map((f) => f[k]));
  return {
    goodputVsFeasible: m('goodputVsFeasible'),
    inHouseOverloadPct: m('inHouseOverloadPct'),
    inHouseOverloadAllPct: m('inHouseOverloadAllPct'),
    wastedSpillPct: m('wastedSpillPct'),
    shedPct: m('shedPct'),
    otherFailedPct: m('otherFailedPct'),
    p50Ms: m('p50Ms'),
    p99Ms: m('p99Ms'),
    costVsOracle: m('costVsOracle'),
    pushesPerMin: m('pushesPerMin'),
  };
}

const real = new Map<string, CellOutcome[]>();
// Interleaved across cells so machine noise spreads over all of them.
for (let r = 0; r < runs; r++) {
  for (const cell of cells) {
    for (const policy of policies) {
      log(`${cell}/${policy}: run ${r + 1}/${runs} (load ${loadavg()[0]!.toFixed(2)})`);
      const o = await runCell(cell, policy, 7 + r);
      log(
        `  served ${o.served}/${o.requests}, shed ${o.shed}, other ${o.otherFailed}, in-house 503 ${o.inHouseRejected}/${o.inHouseAnswered} (${o.inHouseRejectedUnforeseeable} in a jump's first LRS interval), Modal ${o.modalServed} (waste ${o.wastedSpill}), ${o.modalContainerSeconds} c·s, ${o.pushes} pushes`,
      );
      const k = `${cell}/${policy}`;
      real.set(k, [...(real.get(k) ?? []), o]);
    }
  }
}

const fmt = (f: CellFigures): string =>
  `${(100 * f.goodputVsFeasible).toFixed(1)} % | ${overloadCell(f)} | ${f.wastedSpillPct.toFixed(1)} | ${f.shedPct.toFixed(2)} | ${f.otherFailedPct.toFixed(2)} | ${f.p50Ms.toFixed(0)} | ${f.p99Ms.toFixed(0)} | ${f.costVsOracle.toFixed(2)} | ${f.pushesPerMin.toFixed(1)}`;
const lines: string[] = [
  '| cell | policy | where | goodput | in-house overload % (could have shed / all) | wasted spill % | shed % | other % | p50 ms | p99 ms | c·s × oracle | pushes/min | verdict |',
  '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
];
const results: Record<string, unknown> = {};
for (const cell of cells) {
  const oracleRuns = simulateCell(cell, 'oracle');
  const byPolicy = new Map<PolicyName, { real: CellFigures; sim: CellFigures }>();
  for (const policy of policies) {
    const rs = real.get(`${cell}/${policy}`) ?? [];
    const realF = medianFigures(rs.map((o) => realFigures(o, oracleRuns)));
    const sims = simulateCell(cell, policy);
    const simF = medianFigures(sims.map((r, i) => figuresOf(r, oracleRuns[i]!)));
    byPolicy.set(policy, { real: realF, sim: simF });
    results[`${cell}/${policy}`] = { runs: rs, real: realF, sim: simF };
  }
  for (const policy of policies) {
    const f = byPolicy.get(policy)!;
    // Pushes are judged against seed's, when seed ran too.
    const seedPushes = (where: 'real' | 'sim'): number | undefined =>
      policy === 'seed' ? undefined : byPolicy.get('seed')?.[where].pushesPerMin;
    const verdict = (where: 'real' | 'sim'): string => {
      const miss = missesOf(f[where], seedPushes(where));
      return miss.length === 0 ? 'met' : `misses: ${miss.join(', ')}`;
    };
    lines.push(
      `| ${cell} | ${policy} | Envoy (${real.get(`${cell}/${policy}`)?.length ?? 0} runs) | ${fmt(f.real)} | ${verdict('real')} |`,
    );
    lines.push(`| | | simulator (3 seeds) | ${fmt(f.sim)} | ${verdict('sim')} |`);
  }
}
const table = lines.join('\n');
const command = `npm run bench:overflow -- --runs ${runs}${values.cells ? ` --cells ${values.cells}` : ''}${values.policies !== 'seed,default' ? ` --policies ${values.policies}` : ''}`;
mkdirSync('bench/results', { recursive: true });
const path = `bench/results/overflow-${started.toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(
  path,
  `${JSON.stringify(
    {
      started: started.toISOString(),
      finished: new Date().toISOString(),
      command,
      machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavgAtEnd: loadavg() },
      cells: Object.fromEntries(
        cells.map((c) => [c, { description: CELLS[c].description, rigs: Object.fromEntries(policies.map((p) => [p, rigFor(p, c)])) }]),
      ),
      targets: TARGETS,
      results,
    },
    null,
    1,
  )}\n`,
);
log(`\n${table}\n\nwrote ${path}`);

if (values.write) {
  const HEADING = '## Overflow quality through real Envoy';
  const section = [
    HEADING,
    '',
    `Produced by \`${command}\` on ${started.toISOString().slice(0, 10)} (${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)} at the end; results in \`${path}\`).`,
    '',
    "Each cell runs Spillway with the capacity controller, a real Envoy, the fake Modal with real cold starts and three in-house backends with 4 slots and a queue of 8 each (3 × 4 × 200 ms ⇒ 60 rps at ρ = 1, target 48 rps, maximum 54 rps at the default policy's max_utilization 0.9), under open-loop Poisson load for 60 s (the load tool keeps up to 4,096 requests in flight, so a crowd waiting in Modal's queue is never refused by the tool); Spillway probes the backends every 250 ms (`in_house.probe`); the simulator runs the same cell with the same parameters. Policies: " +
      POLICY_NOTES.filter(([name]) => policies.includes(name))
        .map(([, note]) => note)
        .join('; ') +
      '. Figures and targets are those of the "Trace simulator" section; "feasible" is the simulated causal oracle on the same cell. Real p50/p99 are over every response (fast 503s included), the simulator\'s over served requests.',
    '',
    ...cells.map((c) => `- **${c}**: ${CELLS[c].description}`),
    '',
    table,
    '',
  ].join('\n');
  const doc = existsSync('BENCHMARKS.md') ? readFileSync('BENCHMARKS.md', 'utf8') : '# Benchmarks\n';
  // The heading on a line of its own: "— previous round" sections keep their place.
  const at = doc.indexOf(`\n${HEADING}\n`);
  const start = at < 0 ? -1 : at + 1;
  const next = start < 0 ? -1 : doc.indexOf('\n## ', start + HEADING.length);
  const out =
    start < 0 ? `${doc.trimEnd()}\n\n${section}` : `${doc.slice(0, start)}${section}${next < 0 ? '' : `\n${doc.slice(next + 1)}`}`;
  writeFileSync('BENCHMARKS.md', out);
  log('wrote BENCHMARKS.md (section "Overflow quality through real Envoy")');
}
process.exit(0);
