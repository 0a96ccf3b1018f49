import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSpillway, type SpillwayApp } from '../../src/app/spillway-app.js';
import { startEnvoy, type EnvoyHandle } from '../../tools/envoy/envoy-process.js';
import { waitFor } from '../../tools/wait-for.js';
import { startHttpBackend, type BackendHandle } from '../../tools/backends/http-backend.js';
import { configFrom, FREE_PORTS } from '../../tools/config-fixtures.js';
import { sendRequests, startContinuousLoad } from '../support/load.js';
import { freePort } from '../../tools/ports.js';

// A file of target groups (Prometheus file discovery style) that "deploy tooling" rewrites the way
// such tools do: write a temporary file, rename it over the old one.
describe('endpoints from a watched file, through a real Envoy', () => {
  let dir: string;
  let file: string;
  let app: SpillwayApp;
  let envoy: EnvoyHandle;
  let listener: number;
  const backends: BackendHandle[] = [];

  const write = (content: string): void => {
    const tmp = join(dir, `.fleet-${Date.now()}.tmp`);
    writeFileSync(tmp, content);
    renameSync(tmp, file);
  };
  const targets = (...bs: BackendHandle[]): string => JSON.stringify([{ targets: bs.map((b) => `127.0.0.1:${b.port}`), capacity: 4 }]);
  const inHouse = async (): Promise<string[]> =>
    (await envoy.endpoints('echo'))
      .filter((e) => e.zone === 'in-house')
      .map((e) => e.endpoint)
      .sort();
  const keys = (...bs: BackendHandle[]): string[] => bs.map((b) => `127.0.0.1:${b.port}`).sort();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spillway-fleet-'));
    file = join(dir, 'fleet.json');
    for (const name of ['a', 'b', 'c']) backends.push(await startHttpBackend(name));
    write(targets(backends[0]!, backends[1]!));
    listener = await freePort();
    const config = configFrom({
      ...FREE_PORTS,
      // The poll is slow on purpose: changes must arrive by the file watch.
      discovery: { file_poll_ms: 60_000, grace_ms: 60_000 },
      services: [{ name: 'echo', listener: `127.0.0.1:${listener}`, in_house: { files: [{ path: file }] } }],
    });
    app = await startSpillway(config);
    envoy = await startEnvoy({ xdsPort: app.xdsPort, nodeId: `envoy-file-${listener}` });
    await waitFor(async () => (await sendRequests(`http://127.0.0.1:${listener}/`, 4, 2)).ok === 4, 20_000, 'traffic through Envoy');
  }, 60_000);
  afterAll(async () => {
    await envoy?.stop();
    await app?.stop();
    await Promise.all(backends.map((b) => b.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a rewritten file moves traffic under load with no failed request', async () => {
    expect(await inHouse()).toEqual(keys(backends[0]!, backends[1]!));
    const [a, b, c] = backends as [BackendHandle, BackendHandle, BackendHandle];
    const load = startContinuousLoad(`http://127.0.0.1:${listener}/?ms=20`, 8);
    try {
      await new Promise((r) => setTimeout(r, 1000));
      write(targets(b, c));
      await waitFor(async () => (await inHouse()).join() === keys(b, c).join(), 5000, 'Envoy to follow the file');
      const aServed = a.requests.length;
      await waitFor(() => c.requests.length > 20, 5000, 'traffic on the new host');
      await new Promise((r) => setTimeout(r, 1000));
      // Requests already on a may finish; no new ones arrive.
      expect(a.requests.length - aServed).toBeLessThanOrEqual(8);
    } finally {
      const totals = await load.stop();
      expect(totals.failed, totals.errors.join('; ')).toBe(0);
      expect(totals.ok).toBeGreaterThan(100);
    }
  });

  it('a broken file is refused, naming the file and the field; the last good set keeps serving', async () => {
    const before = await inHouse();
    const edsBefore = app.read.edsVersion();
    write(JSON.stringify([{ targets: ['127.0.0.1:1', 'web-1:8080'], capacity: 4 }]));
    await waitFor(() => app.read.service('echo')?.endpointSources[0]?.health === 'STALE', 5000, 'broken file reported');
    const source = app.read.service('echo')!.endpointSources[0]!;
    expect(source.problem).toContain(`refused: ${file}: [0].targets[1]: must be "ip:port" (or "[ipv6]:port"), got "web-1:8080"`);
    expect(source.endpoints).toHaveLength(2);
    expect(app.read.edsVersion()).toBe(edsBefore);
    expect(await inHouse()).toEqual(before);
    const r = await sendRequests(`http://127.0.0.1:${listener}/`, 20, 4);
    expect(r.failed).toBe(0);
    const state = await (await fetch(`http://127.0.0.1:${app.metricsPort}/metrics`)).text();
    expect(state).toContain(`spillway_discovery_source_stale{service="echo",source="file ${file}"} 1`);

    // Fixed: served again at once.
    write(targets(backends[0]!));
    await waitFor(async () => (await inHouse()).join() === keys(backends[0]!).join(), 5000, 'fixed file served');
    expect(app.read.service('echo')!.endpointSources[0]!.health).toBe('OK');
  });

  it('a file with zero targets while hosts were there keeps them for the grace period', async () => {
    const before = await inHouse();
    write('[]');
    await waitFor(() => app.read.service('echo')?.endpointSources[0]?.health === 'STALE', 5000, 'empty file noticed');
    expect(app.read.service('echo')!.endpointSources[0]!.graceEndsAtMs).toBeGreaterThan(Date.now() + 50_000);
    expect(await inHouse()).toEqual(before);
  });
});
