// The load generator as its own process (demo, docker-compose, overflow benchmarks). Writes one JSON
// line per second and a final summary line to --out (or stdout); with --out, the summary also goes to
// stdout. SIGINT/SIGTERM stop it early, still writing the summary.
//
//   tsx tools/loadgen/main.ts --url http://127.0.0.1:10000 --path '/work?ms=200' \
//     --scenario ramp-burst-drain --duration 120 --base-rps 20 --peak-rps 200 --seed 7 --out run.jsonl
//
// Every flag also reads from LOADGEN_<FLAG_IN_UPPER_SNAKE_CASE> (e.g. LOADGEN_PEAK_RPS).
import { createWriteStream, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runLoad, type LoadOptions } from './run-load.js';
import { buildScenario, parseScenario, SCENARIO_NAMES, type Scenario, type ScenarioName, type ScenarioParams } from './scenarios.js';
import { DEFAULT_TIER_RULES } from './tier.js';

const FLAGS = {
  url: { type: 'string' },
  path: { type: 'string' },
  scenario: { type: 'string' },
  /** A JSON file {"name", "segments": [{startS, endS, fromRps, toRps}, …]} instead of --scenario. */
  'scenario-file': { type: 'string' },
  duration: { type: 'string' },
  'base-rps': { type: 'string' },
  'peak-rps': { type: 'string' },
  'ramp-s': { type: 'string' },
  'at-s': { type: 'string' },
  'hold-s': { type: 'string' },
  'period-s': { type: 'string' },
  seed: { type: 'string' },
  concurrency: { type: 'string' },
  'timeout-ms': { type: 'string' },
  'max-requests': { type: 'string' },
  /** "name: value"; repeatable. */
  header: { type: 'string', multiple: true },
  'in-house-prefix': { type: 'string', multiple: true },
  'modal-header': { type: 'string' },
  'allow-host': { type: 'string', multiple: true },
  out: { type: 'string' },
} as const;

type FlagName = keyof typeof FLAGS;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: FLAGS, strict: true });
  const envName = (flag: FlagName): string => `LOADGEN_${flag.toUpperCase().replace(/-/g, '_')}`;
  const get = (flag: FlagName): string | undefined => {
    const v = values[flag];
    return typeof v === 'string' ? v : process.env[envName(flag)];
  };
  const list = (flag: FlagName): string[] => {
    const v = values[flag];
    if (Array.isArray(v)) return v;
    return (
      process.env[envName(flag)]
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean) ?? []
    );
  };
  const num = (flag: FlagName): number | undefined => {
    const v = get(flag);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag} must be a non-negative number, got '${v}'`);
    return n;
  };

  const url = get('url');
  if (!url) throw new Error('--url is required (e.g. http://127.0.0.1:10000)');
  const opts: LoadOptions = { url, scenario: scenarioFromFlags(get, num) };
  const path = get('path');
  if (path !== undefined) opts.path = path;
  const setNum = (k: 'seed' | 'concurrency' | 'timeoutMs' | 'maxRequests', flag: FlagName): void => {
    const v = num(flag);
    if (v !== undefined) opts[k] = v;
  };
  setNum('seed', 'seed');
  setNum('concurrency', 'concurrency');
  setNum('timeoutMs', 'timeout-ms');
  setNum('maxRequests', 'max-requests');
  const headers = list('header');
  if (headers.length > 0) opts.headers = Object.fromEntries(headers.map(parseHeader));
  const prefixes = list('in-house-prefix');
  opts.tierRules = {
    inHousePrefixes: prefixes.length > 0 ? prefixes : DEFAULT_TIER_RULES.inHousePrefixes,
    modalHeader: get('modal-header') ?? DEFAULT_TIER_RULES.modalHeader,
  };
  opts.allowHosts = list('allow-host');

  const outPath = get('out');
  const out = outPath ? createWriteStream(outPath, { flags: 'w' }) : process.stdout;
  const stop = new AbortController();
  opts.signal = stop.signal;
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());

  const summary = await runLoad(opts, { onSecond: (r) => out.write(`${JSON.stringify(r)}\n`) });
  const line = `${JSON.stringify(summary)}\n`;
  if (out === process.stdout) {
    process.stdout.write(line);
    return;
  }
  await new Promise<void>((resolve, reject) => out.end(line, () => resolve()).once('error', reject));
  process.stdout.write(line);
}

function scenarioFromFlags(get: (f: FlagName) => string | undefined, num: (f: FlagName) => number | undefined): Scenario {
  const file = get('scenario-file');
  if (file) return parseScenario(JSON.parse(readFileSync(file, 'utf8')));
  const name = get('scenario') ?? 'steady';
  if (!(SCENARIO_NAMES as readonly string[]).includes(name)) throw new Error(`--scenario must be one of ${SCENARIO_NAMES.join(', ')}`);
  const params: ScenarioParams = { durationS: num('duration') ?? 60, baseRps: num('base-rps') ?? 20 };
  const optional: Array<[keyof ScenarioParams, FlagName]> = [
    ['peakRps', 'peak-rps'],
    ['rampS', 'ramp-s'],
    ['atS', 'at-s'],
    ['holdS', 'hold-s'],
    ['periodS', 'period-s'],
  ];
  for (const [k, flag] of optional) {
    const v = num(flag);
    if (v !== undefined) params[k] = v;
  }
  return buildScenario(name as ScenarioName, params);
}

function parseHeader(h: string): [string, string] {
  const i = h.indexOf(':');
  if (i <= 0) throw new Error(`--header must be 'name: value', got '${h}'`);
  return [h.slice(0, i).trim().toLowerCase(), h.slice(i + 1).trim()];
}

main().catch((err: unknown) => {
  process.stderr.write(`loadgen: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
