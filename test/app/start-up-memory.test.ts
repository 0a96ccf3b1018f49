import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort } from '../../tools/ports.js';
import { REPO_ROOT } from '../../tools/repo.js';
import { waitFor } from '../../tools/wait-for.js';

const MiB = 1024 * 1024;

/** One metric's value from a Prometheus text exposition (undefined when absent). */
function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

// A started Spillway used to hold an empty 32 MiB young generation that start-up's long-lived
// objects had grown (src/core/start-up-heap.ts). Run as production runs it, the compiled
// `node dist/src/cli.js serve` (under tsx, tsx's own loading comes first and grows it before
// Spillway's first module runs), and read V8's spaces from Spillway's own /metrics.
describe('spillway serve at rest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-start-up-'));
  // Inside the repository, so the build finds node_modules and the package root as dist/ does.
  mkdirSync(join(REPO_ROOT, '.tmp'), { recursive: true });
  const dist = mkdtempSync(join(REPO_ROOT, '.tmp', 'start-up-dist-'));
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    rmSync(dist, { recursive: true, force: true });
  });

  it('keeps the young generation at its initial size through start-up, and grows it again once serving', async () => {
    const [xds, admin, metrics, listener] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const configPath = join(dir, 'spillway.yaml');
    writeFileSync(
      configPath,
      stringify({
        xds: { listen: `127.0.0.1:${xds}` },
        admin: { listen: `127.0.0.1:${admin}` },
        metrics: { listen: `127.0.0.1:${metrics}` },
        services: [
          {
            name: 'svc',
            listener: `127.0.0.1:${listener}`,
            in_house: { endpoints: [{ address: '10.0.0.1', port: 8080, capacity: 8 }] },
            modal: {
              url: 'https://ws--svc.modal.run',
              connect_address: '192.0.2.1',
              app: 'a',
              function: 'f',
              max_containers: 2,
              share: 0.1,
            },
            capacity: { policy: 'static' },
          },
        ],
      }),
    );
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', dist, '--sourceMap', 'false'], { cwd: REPO_ROOT });
    let out = '';
    child = spawn(process.execPath, [join(dist, 'src', 'cli.js'), 'serve', '--config', configPath], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
    const youngGeneration = async (): Promise<number | undefined> =>
      metricValue(await scrape(), 'nodejs_heap_space_size_total_bytes{space="new"}');

    await waitFor(
      () => out.includes('Spillway serving ADS and LRS'),
      60_000,
      () => `spillway serve to start (${out})`,
    );
    const atStart = await waitFor(() => youngGeneration().catch(() => undefined), 10_000, 'the metrics endpoint');
    // Two semi-spaces at V8's initial 1 MiB each, or one step up; left to grow it reached 2 × 16 MiB.
    expect(atStart).toBeLessThanOrEqual(8 * MiB);

    // Released once serving: a scrape allocates, and enough of them let V8 grow it again. The growth
    // needs survivors, so keep many scrapes in flight at once.
    const grown = await waitFor(
      async () => {
        await Promise.all(Array.from({ length: 50 }, () => scrape()));
        const size = await youngGeneration();
        return size !== undefined && size > atStart! ? size : undefined;
      },
      30_000,
      'the young generation to grow once serving',
    );
    expect(grown).toBeGreaterThan(atStart!);
  }, 120_000);
});
