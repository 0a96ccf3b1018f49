import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startEnvoy, type EnvoyHandle } from '../../tools/envoy/envoy-process.js';
import { dumpSection } from '../../tools/envoy/config-dump.js';
import { REPO_ROOT } from '../support/repo.js';
import { sendRequests, startContinuousLoad } from '../support/load.js';
import { freePort } from '../../tools/ports.js';
import { waitFor } from '../../tools/wait-for.js';
import { startTopology, type Topology } from './harness.js';

/** Runs `spillway serve` as its own process, as a user would. */
function spawnSpillway(configPath: string): { child: ChildProcess; output: () => string } {
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--config', configPath], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  return { child, output: () => out };
}

describe.each(['GRPC', 'DELTA_GRPC'] as const)('Spillway restarts under load (Envoy api_type %s)', (apiType) => {
  let topo: Topology;
  let envoy: EnvoyHandle;
  let dir: string;
  let configPath: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    const xdsPort = await freePort();
    topo = await startTopology({ xdsPort, share: 0.3 });
    dir = mkdtempSync(join(tmpdir(), 'spillway-restart-'));
    configPath = join(dir, 'spillway.yaml');
    writeFileSync(configPath, stringify(topo.rawConfig));
    envoy = await startEnvoy({ xdsPort, nodeId: `envoy-restart-1-${apiType}`, apiType });
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await envoy?.stop();
    await topo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const connected = async (): Promise<number> =>
    (await envoy.stats('control_plane.connected_state'))['control_plane.connected_state'] ?? -1;
  const versions = async (): Promise<string> => {
    const dump = await envoy.configDump();
    return [dumpSection(dump, 'ClustersConfigDump')?.['version_info'], dumpSection(dump, 'ListenersConfigDump')?.['version_info']].join(
      '/',
    );
  };

  it('keeps serving on its last config, reconnects and converges, with no failed request', async () => {
    const first = spawnSpillway(configPath);
    children.push(first.child);
    const url = `http://127.0.0.1:${topo.listenerPort}/`;
    await waitFor(async () => (await sendRequests(url, 5, 1)).ok === 5, 30_000, `Envoy serving via Spillway (${first.output()})`);
    const before = await versions();

    const load = startContinuousLoad(url, 4);
    await new Promise((r) => setTimeout(r, 500));
    first.child.kill('SIGKILL');
    await waitFor(async () => (await connected()) === 0, 10_000, 'Envoy to see the control plane gone');
    await new Promise((r) => setTimeout(r, 1000));

    const second = spawnSpillway(configPath);
    children.push(second.child);
    await waitFor(async () => (await connected()) === 1, 30_000, `Envoy to reconnect (${second.output()})`);
    await new Promise((r) => setTimeout(r, 500));
    const totals = await load.stop();

    // Content-hashed versions: the restarted Spillway serves exactly the versions Envoy already runs.
    expect(await versions()).toBe(before);
    expect(totals.failed, totals.errors.join(', ')).toBe(0);
    expect(totals.ok).toBeGreaterThan(200);
    expect(totals.byServer['modal'] ?? 0).toBeGreaterThan(0);

    second.child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => second.child.once('exit', (c) => r(c)));
    expect(code).toBe(0);
  });
});
