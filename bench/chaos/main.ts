// `npm run chaos`: every restart and outage cell at full length, both xDS protocols where it matters,
// with a real Envoy, seeded load and the fake Modal. Prints one line per cell, writes
// bench/results/chaos-<time>.json, and with --write replaces the figures in RELIABILITY.md.
//   npm run chaos [-- --seed 1] [--only restart|nack|modal|outage] [--write]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { breakableResolver, dnsFailure, lrsSilent, modalDownAtStart, modalDownMidRun } from './outage-cells.js';
import { compileSpillway } from './compiled-spillway.js';
import { finish, machine, renderLine, renderMarkdown } from './report.js';
import { killAndRestart, nackedEnvoyRestart, sighupBrokenFile } from './restart-cells.js';
import { sleep, startSession, type CellResult, type Session } from './session.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    only: { type: 'string' },
    write: { type: 'boolean', default: false },
  },
});
const seed = Number(values.seed);
const groups = values.only ? values.only.split(',') : ['restart', 'nack', 'modal', 'outage'];
const command = `npm run chaos -- --seed ${seed}${values.only ? ` --only ${values.only}` : ''}`;
const log = (s: string): void => void process.stdout.write(`${s}\n`);
const results: CellResult[] = [];
const record = (r: CellResult): void => {
  results.push(r);
  log(renderLine(r));
};
const m = machine();
log(`chaos: ${groups.join(', ')} · seed ${seed} · ${m.cores} cores · load ${m.loadStart}`);

async function withSession(opts: Parameters<typeof startSession>[0], run: (s: Session) => Promise<void>): Promise<void> {
  const s = await startSession(opts);
  try {
    await run(s);
  } finally {
    await s.close();
  }
}

/** Between cells on one session: back to steady (queues drained, the share settled). */
async function steady(s: Session): Promise<void> {
  await sleep(10_000);
  const deadline = Date.now() + 60_000;
  while (s.rig.inHouse.some((b) => b.state().queued > 0) && Date.now() < deadline) await sleep(500);
}

if (groups.includes('restart')) {
  // The restarted process is the compiled one, as in the Docker image.
  const compiled = compileSpillway();
  for (const apiType of ['GRPC', 'DELTA_GRPC'] as const) {
    // stale_after_ms 30 s: on a shared 2-core machine a restart takes seconds on top of the downtime.
    await withSession(
      {
        spillway: 'child',
        cliArgs: compiled.args,
        apiType,
        seed: seed + 10,
        rps: 60,
        spillingAbove: 0.2,
        settleMs: 10_000,
        capacity: { stale_after_ms: 30_000 },
      },
      async (s) => {
        if (apiType === 'GRPC') {
          record(await sighupBrokenFile(s));
          await steady(s);
        }
        for (const downMs of [1_000, 2_000, 10_000]) {
          record(await killAndRestart(s, { downMs, observeMs: 15_000, apiType }));
          await steady(s);
        }
      },
    );
  }
  compiled.cleanup();
}

if (groups.includes('nack')) {
  for (const apiType of ['GRPC', 'DELTA_GRPC'] as const) record(await nackedEnvoyRestart({ apiType, seed: seed + 20 }));
}

if (groups.includes('modal')) {
  record(await modalDownAtStart({ downMs: 60_000, seed: seed + 30, rps: 50 }));
  record(await modalDownAtStart({ downMs: 60_000, seed: seed + 31, rps: 50, slowMs: 1_600 }));
  for (const unobservable of ['zero', 'decay']) {
    await withSession(
      { spillway: 'in-process', seed: seed + 32, rps: 60, spillingAbove: 0.2, settleMs: 10_000, capacity: { unobservable } },
      async (s) => record(await modalDownMidRun(s, { downMs: 60_000, unobservable })),
    );
  }
}

if (groups.includes('outage')) {
  const resolver = breakableResolver();
  await withSession(
    { spillway: 'in-process', link: true, dns: resolver.dns, seed: seed + 40, rps: 60, spillingAbove: 0.2, settleMs: 10_000 },
    async (s) => {
      record(await dnsFailure(s, resolver, { failMs: 60_000 }));
      await steady(s);
      record(await lrsSilent(s, { cutMs: 30_000 }));
    },
  );
}

const done = finish(m);
const markdown = renderMarkdown(results, done, command);
const started = new Date();
mkdirSync('bench/results', { recursive: true });
const path = `bench/results/chaos-${started.toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(path, `${JSON.stringify({ command, machine: done, results }, null, 1)}\n`);
log(`\n${markdown}\n\nwrote ${path}`);
if (values.write) {
  const file = 'RELIABILITY.md';
  const text = readFileSync(file, 'utf8');
  const begin = '<!-- chaos:begin -->';
  const end = '<!-- chaos:end -->';
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`${file} has no ${begin} … ${end} block to replace`);
  writeFileSync(file, `${text.slice(0, i + begin.length)}\n${markdown}\n${text.slice(j)}`);
  log(`updated ${file}`);
}
process.exit(results.every((r) => r.checks.every((c) => c.ok)) ? 0 : 1);
