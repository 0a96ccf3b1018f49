import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { TypeUrl } from '../../src/xds/type-urls.js';
import { freePort } from '../../tools/ports.js';
import { REPO_ROOT } from '../../tools/repo.js';
import { waitFor } from '../../tools/wait-for.js';
import { AdsTestClient } from '../support/ads-client.js';
import { seriesValue } from '../support/prometheus.js';

const MiB = 1024 * 1024;

// A started Spillway used to hold an empty 32 MiB young generation that start-up's long-lived
// objects had grown (src/core/start-up-heap.ts). Run as production runs it, the compiled
// `node dist/src/cli.js serve` (under tsx, tsx's own loading comes first and grows it before
// Spillway's entry runs), and read V8's spaces from Spillway's own /metrics.
describe('spillway serve at rest', () => {
  let dir: string;
  let dist: string;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spillway-start-up-'));
    // Inside the repository, so the build finds node_modules and the package root as dist/ does.
    mkdirSync(join(REPO_ROOT, '.tmp'), { recursive: true });
    dist = mkdtempSync(join(REPO_ROOT, '.tmp', 'start-up-dist-'));
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', dist, '--sourceMap', 'false'], {
      cwd: REPO_ROOT,
      timeout: 110_000,
    });
  }, 120_000);
  afterAll(() => {
    child?.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (dist) rmSync(dist, { recursive: true, force: true });
  });

  it('keeps the young generation at its initial size through start-up and while no Envoy is connected, and lets it grow after', async () => {
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
    let out = '';
    let exited: number | null | undefined;
    child = spawn(process.execPath, [join(dist, 'src', 'cli.js'), 'serve', '--config', configPath], {
      cwd: REPO_ROOT,
      // The test waits for an info line.
      env: { ...process.env, SPILLWAY_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', (code) => (exited = code));
    const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
    const youngGeneration = async (): Promise<number | undefined> =>
      seriesValue(await scrape(), 'nodejs_heap_space_size_total_bytes{space="new"}');
    // Scrapes allocate, and V8 grows the young generation when what a scavenge finds mostly
    // survives: keep many in flight at once.
    const load = async (): Promise<number | undefined> => {
      await Promise.all(Array.from({ length: 50 }, () => scrape()));
      return youngGeneration();
    };

    await waitFor(
      () => {
        if (exited !== undefined) throw new Error(`spillway serve exited (${exited}): ${out}`);
        return out.includes('Spillway serving ADS and LRS');
      },
      60_000,
      () => `spillway serve to start (${out})`,
    );
    const atStart = await waitFor(() => youngGeneration().catch(() => undefined), 10_000, 'the metrics endpoint');
    // Two semi-spaces at V8's initial 1 MiB each, or one step up; left to grow it reached 2 × 16 MiB.
    expect(atStart).toBeLessThanOrEqual(4 * MiB);
    // With no Envoy connected it stays held under load: as many rounds as it is given to grow below.
    const ROUNDS = 20;
    for (let i = 0; i < ROUNDS; i++) expect(await load()).toBeLessThanOrEqual(4 * MiB);

    // The first Envoy releases it: the same load now grows it.
    const envoy = new AdsTestClient(`127.0.0.1:${xds}`);
    try {
      envoy.send({ node: { id: 'start-up-memory', cluster: 'test' }, type_url: TypeUrl.Cluster });
      await envoy.waitForResponses(1, TypeUrl.Cluster, 10_000);
      let grown: number | undefined;
      for (let i = 0; i < ROUNDS && !(grown !== undefined && grown > 4 * MiB); i++) grown = await load();
      expect(grown).toBeGreaterThan(4 * MiB);
    } finally {
      envoy.close();
    }
  }, 120_000);
});
