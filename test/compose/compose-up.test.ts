import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerComposeEnvironment, getContainerRuntimeClient, type StartedDockerComposeEnvironment } from 'testcontainers';
import { REPO_ROOT } from '../../tools/repo.js';
import { startOpenLoad } from '../support/open-loop.js';
import { waitFor } from '../../tools/wait-for.js';

/** Whether a Docker engine answers; the reason when not, printed so a skip is never silent. */
async function dockerAvailable(): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    await Promise.race([
      getContainerRuntimeClient(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 10 s')), 10_000)),
    ]);
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message.split('\n')[0]! : String(err) };
  }
}

const docker = await dockerAvailable();
if (!docker.ok) {
  console.warn(`SKIPPED docker-compose test: no Docker engine reachable (${docker.reason})`);
}

describe.skipIf(!docker.ok)('docker-compose.yml brings up the demo topology', () => {
  let env: StartedDockerComposeEnvironment;
  beforeAll(async () => {
    env = await new DockerComposeEnvironment(REPO_ROOT, 'docker-compose.yml').withBuild().up();
  }, 900_000);
  afterAll(async () => {
    await env?.down();
  }, 120_000);

  it('serves through Envoy and spills the overflow to the fake Modal', async () => {
    const url = 'http://127.0.0.1:10000/work?ms=200';
    await waitFor(async () => (await fetch(url)).ok, 120_000, 'Envoy serving through Spillway');
    const load = startOpenLoad(url, 200);
    try {
      await waitFor(() => load.stats().byTier.modal > 50, 120_000, 'requests served by the fake Modal');
    } finally {
      const s = await load.stop();
      expect(s.byTier.inHouse).toBeGreaterThan(0);
      expect(s.byTier.modal).toBeGreaterThan(50);
    }
  }, 300_000);
});
