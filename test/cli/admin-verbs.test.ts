// The `spillway` admin verbs against a running Spillway with a real Envoy attached: what they
// print, what they change, and the exit codes scripts rely on.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdminCommand } from '../../src/cli/admin-verbs.js';
import { parseAdminCommand, type AdminVerb } from '../../src/cli/args.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { startEnvoy, type EnvoyHandle } from '../../tools/envoy/envoy-process.js';
import { waitFor } from '../../tools/wait-for.js';
import { rawConfig, startAdminRig, type AdminRig } from '../admin/harness.js';
import { freePort } from '../../tools/ports.js';
import { REPO_ROOT } from '../../tools/repo.js';

const TOKEN = 'cli-test-token-5b1e';

describe('spillway admin verbs', () => {
  let rig: AdminRig;
  let envoy: EnvoyHandle;
  let admin: string;

  beforeAll(async () => {
    const raw = rawConfig({ admin: { listen: '127.0.0.1:0', token_env: 'SPILLWAY_TEST_ADMIN_TOKEN' } });
    // A real Envoy binds the listeners: free ports, not the fixture's fixed ones.
    for (const s of raw['services'] as Array<{ listener: string }>) s.listener = `127.0.0.1:${await freePort()}`;
    rig = await startAdminRig({ raw, env: { SPILLWAY_TEST_ADMIN_TOKEN: TOKEN } });
    admin = `127.0.0.1:${rig.app.adminPort}`;
    envoy = await startEnvoy({ xdsPort: rig.app.xdsPort, nodeId: 'cli-envoy-1', apiType: 'DELTA_GRPC' });
    await waitFor(
      () => {
        const rows = rig.app.syncStatus.node('cli-envoy-1');
        return rows.length === 4 && rows.every((r) => r.status === 'SYNCED');
      },
      20_000,
      'Envoy synced',
    );
  });
  afterAll(async () => {
    await envoy?.stop();
    await rig?.close();
  });

  /** Runs a verb in-process, as src/cli/main.ts does, capturing what it prints. */
  const run = async (verb: AdminVerb, args: string[], env: NodeJS.ProcessEnv = { SPILLWAY_ADMIN_TOKEN: TOKEN }) => {
    let out = '';
    let err = '';
    const parsed = parseAdminCommand(verb, ['--admin', admin, ...args], env);
    if (!parsed.ok) return { code: ExitCode.Usage, out, err: parsed.error };
    const code = await runAdminCommand(parsed.value, { out: (t) => (out += t), err: (t) => (err += t), nowMs: () => Date.now() });
    return { code, out, err };
  };

  it('status: one line per connected Envoy; --node with its resources; --output json', async () => {
    const table = await run('status', []);
    expect(table.code).toBe(ExitCode.Ok);
    const lines = table.out.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    const replica = rig.app.read.replicaId();
    expect(lines[1]).toMatch(
      new RegExp(
        `^cli-envoy-1 +spillway-test +${replica.replace(/[.]/g, '\\.')} +delta +(SYNCED [0-9a-f]{8} +){4}\\d.* ago +1\\.\\d+\\.\\d+ +-$`,
      ),
    );

    const json = await run('status', ['--output', 'json']);
    const parsed = JSON.parse(json.out) as { replica_id: string; envoys: Array<{ node_id: string; types: Array<{ status: string }> }> };
    expect(parsed.replica_id).toBe(replica);
    expect(parsed.envoys.map((e) => e.node_id)).toEqual(['cli-envoy-1']);
    expect(parsed.envoys[0]!.types.map((t) => t.status)).toEqual(['SYNCED', 'SYNCED', 'SYNCED', 'SYNCED']);

    const detail = await run('status', ['--node', 'cli-envoy-1']);
    expect(detail.code).toBe(ExitCode.Ok);
    expect(detail.out).toMatch(/^ {2}EDS +echo +SYNCED +ACKED +[0-9a-f]{8} /m);
    expect(detail.out).toMatch(/^ {2}LDS +plain +SYNCED +ACKED /m);
    const nodeJson = JSON.parse((await run('status', ['--node', 'cli-envoy-1', '-o', 'json'])).out) as { resources: unknown[] };
    // Every resource Spillway serves this Envoy (the echo cluster's WebSocket twin included).
    const served = Object.values(rig.app.cache.current()!.types).reduce((n, t) => n + t.resources.size, 0);
    expect(nodeJson.resources).toHaveLength(served);

    const missing = await run('status', ['--node', 'nobody']);
    expect(missing.code).toBe(ExitCode.Refused);
    expect(missing.err).toBe(`spillway status: --node: "nobody" is not connected to ${replica} (connected: cli-envoy-1)\n`);
  });

  it('cordon, soft-cordon, uncordon change what Envoy runs; refusals and a missing token have their exit codes', async () => {
    const cordon = await run('cordon', ['echo', '10.0.0.1:80', '--reason', 'kernel upgrade']);
    expect(cordon).toMatchObject({ code: ExitCode.Ok, err: '' });
    expect(cordon.out).toMatch(/^echo 10\.0\.0\.1:80: DRAINING, takes no new requests \(EDS version [0-9a-f]{8}\)\n$/);
    let seen = '';
    await waitFor(
      async () => {
        const l = await envoy.localities('echo');
        seen = JSON.stringify([...l]);
        // Envoy's dump rebuilds the assignment from its hosts: a DRAINING host shows as UNHEALTHY.
        return l.get('in-house')?.health === 'UNHEALTHY';
      },
      10_000,
      () => `Envoy runs the endpoint drained (runs ${seen})`,
    );

    expect((await run('soft-cordon', ['echo', '10.0.0.1:80', '--reason', 'x'])).out).toMatch(/DEGRADED/);
    expect((await run('uncordon', ['echo', '10.0.0.1:80'])).code).toBe(ExitCode.Ok);
    expect(rig.app.publisher.cordonsOf('echo').size).toBe(0);

    const unknown = await run('cordon', ['echo', '10.9.9.9:80', '--reason', 'x']);
    expect(unknown.code).toBe(ExitCode.Refused);
    expect(unknown.err).toMatch(/^spillway cordon: endpoint: "10\.9\.9\.9:80" is not an in-house endpoint of service "echo"/);
    expect((await run('cordon', ['nosuch', '10.0.0.1:80', '--reason', 'x'])).err).toMatch(/service: "nosuch" is not a configured service/);

    const noToken = await run('cordon', ['echo', '10.0.0.1:80', '--reason', 'x'], {});
    expect(noToken.code).toBe(ExitCode.Unauthorized);
    expect(noToken.err).toMatch(/no token was sent/);
    expect(noToken.err).not.toContain(TOKEN);
    const wrong = await run('cordon', ['echo', '10.0.0.1:80', '--reason', 'x'], { SPILLWAY_ADMIN_TOKEN: 'nope' });
    expect(wrong.code).toBe(ExitCode.Unauthorized);
    expect(rig.app.publisher.cordonsOf('echo').size).toBe(0);
  });

  it('override and clear-override move the published share, and say so', async () => {
    const over = await run('override', ['echo', '--share', '30%', '--for', '15m', '--reason', 'load test']);
    expect(over.code).toBe(ExitCode.Ok);
    expect(over.out).toMatch(
      /^echo: override, Modal 30\.0% · in-house 70\.0%\n {2}reason: operator override to 30\.0% Modal for 15 more min: load test\n/,
    );
    expect(rig.app.read.service('echo')?.shares.modal).toBeCloseTo(0.3, 2);
    const refused = await run('override', ['plain', '--share', '0.5', '--for', '1m', '--reason', 'x']);
    expect(refused.code).toBe(ExitCode.Refused);
    expect(refused.err).toMatch(/share: service "plain" has no Modal endpoint/);

    const clear = await run('clear-override', ['echo', '--reason', 'done', '-o', 'json']);
    expect(clear.code).toBe(ExitCode.Ok);
    expect(JSON.parse(clear.out)).toMatchObject({ name: 'echo', source: 'STATIC' });
    expect(rig.app.read.service('echo')?.shares.modal).toBeCloseTo(0.2, 2);
  });

  it('the real command: exit codes for a bad command line and an unreachable admin port', async () => {
    const cli = (args: string[]): Promise<{ code: number; stderr: string }> =>
      new Promise((resolve) => {
        execFile(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli.ts'), ...args], { cwd: REPO_ROOT }, (err, _out, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
        );
      });
    const [usage, unreachable, ok] = await Promise.all([
      cli(['override', 'echo', '--share', '0.3', '--for', '15']),
      cli(['status', '--admin', '127.0.0.1:1']),
      cli(['status', '--admin', admin]),
    ]);
    expect(usage).toEqual({
      code: ExitCode.Usage,
      stderr: 'spillway override: --for: expected a duration with units like 90s, 15m or 1h30m, got "15"\n',
    });
    expect(unreachable.code).toBe(ExitCode.Unreachable);
    expect(unreachable.stderr).toMatch(/^spillway status: cannot reach Spillway's admin port at 127\.0\.0\.1:1/);
    expect(ok.code).toBe(ExitCode.Ok);
  });
});
