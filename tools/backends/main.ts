// In-house backends as their own process (demo, docker-compose, benchmarks). Prints one JSON line once
// every backend listens, then runs until SIGINT/SIGTERM:
//
//   tsx tools/backends/main.ts --count 3 --base-port 18101 --slots 8 --queue 16 --service-ms 200 --service-cv 0.5
//   → {"url":"http://127.0.0.1:18101","name":"in-house-1","port":18101,"backends":[{...},{...},{...}]}
//
// Without --count it starts one backend (--port, --name). Every flag also reads from
// IN_HOUSE_<FLAG_IN_UPPER_SNAKE_CASE> (e.g. IN_HOUSE_SLOTS).
import { parseArgs } from 'node:util';
import { startInHouseBackend, type InHouseBackend, type InHouseBackendOptions } from './in-house-backend.js';

const FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  name: { type: 'string' },
  /** Several backends on consecutive ports from --base-port, named <name>-1, <name>-2, … */
  count: { type: 'string' },
  'base-port': { type: 'string' },
  slots: { type: 'string' },
  queue: { type: 'string' },
  'service-ms': { type: 'string' },
  'jitter-ms': { type: 'string' },
  'service-cv': { type: 'string' },
  seed: { type: 'string' },
} as const;

type FlagName = keyof typeof FLAGS;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: FLAGS, strict: true });
  const get = (flag: FlagName): string | undefined => {
    const v = values[flag];
    return typeof v === 'string' ? v : process.env[`IN_HOUSE_${flag.toUpperCase().replace(/-/g, '_')}`];
  };
  const num = (flag: FlagName): number | undefined => {
    const v = get(flag);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag} must be a non-negative number, got '${v}'`);
    return n;
  };

  const shared: InHouseBackendOptions = { host: get('host') ?? '127.0.0.1' };
  const put = <K extends keyof InHouseBackendOptions>(k: K, v: InHouseBackendOptions[K] | undefined): void => {
    if (v !== undefined) shared[k] = v;
  };
  put('slots', num('slots'));
  put('queue', num('queue'));
  put('serviceMs', num('service-ms'));
  put('jitterMs', num('jitter-ms'));
  put('cv', num('service-cv'));
  const seed = num('seed') ?? 1;

  const count = num('count');
  const specs: InHouseBackendOptions[] = [];
  if (count === undefined) {
    specs.push({ ...shared, name: get('name') ?? 'in-house-1', port: num('port') ?? 0, seed });
  } else {
    if (!Number.isInteger(count) || count < 1 || count > 64) throw new Error('--count must be an integer in 1..64');
    const basePort = num('base-port') ?? 0;
    const prefix = get('name') ?? 'in-house';
    for (let i = 0; i < count; i++) {
      // Distinct seeds so the hosts' service times are not in lockstep.
      specs.push({ ...shared, name: `${prefix}-${i + 1}`, port: basePort === 0 ? 0 : basePort + i, seed: seed + i });
    }
  }

  const backends: InHouseBackend[] = [];
  try {
    for (const spec of specs) backends.push(await startInHouseBackend(spec));
  } catch (err) {
    await Promise.all(backends.map((b) => b.close()));
    throw err;
  }
  const list = backends.map((b) => ({ name: b.name, url: b.url, port: b.port }));
  process.stdout.write(`${JSON.stringify({ ...list[0], backends: list })}\n`);

  const stop = (): void => {
    void Promise.all(backends.map((b) => b.close())).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`in-house backends: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
