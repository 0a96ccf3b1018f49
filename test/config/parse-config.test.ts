import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { parseConfigText } from '../../src/config/parse-config.js';
import { REPO_ROOT } from '../support/repo.js';

const errorsOf = (yaml: string): string[] => {
  const r = parseConfigText(yaml);
  return r.ok ? [] : r.errors;
};

describe('configuration', () => {
  it('built-in defaults describe the local demo topology and validate', () => {
    const c = loadConfig();
    expect(c.services.map((s) => s.name)).toEqual(['echo']);
    expect(c.services[0]!.inHouse).toHaveLength(3);
    expect(c.services[0]!.modal?.hostname).toBe('spillway-demo--echo.modal.run');
    expect(c.services[0]!.route.timeoutMs).toBe(0);
    expect(c.xds.listen).toEqual({ host: '127.0.0.1', port: 18000 });
  });

  it('fills route defaults that do not cut long requests', () => {
    const r = parseConfigText(`
services:
  - name: api
    listener: 0.0.0.0:8080
    in_house: { endpoints: [{ address: 10.1.2.3, port: 9000, capacity: 16 }] }
`);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const s = r.config.services[0]!;
    expect(s.route).toEqual({
      timeoutMs: 0,
      idleTimeoutMs: 300_000,
      websocket: true,
      retry: { retryOn: ['connect-failure', 'refused-stream', 'reset-before-request'], numRetries: 1, perTryTimeoutMs: 0 },
      sticky: {
        mode: 'header',
        header: 'x-spillway-upstream',
        cookie: { name: 'spillway-upstream', path: '/', ttlS: 0 },
      },
    });
    expect(s.modal).toBeUndefined();
  });

  it("defaults Modal's rate limit, 429 retry and price, and converts a cost cap in dollars per hour", () => {
    const r = parseConfigText(`
services:
  - name: api
    listener: 0.0.0.0:8080
    in_house: { endpoints: [{ address: 10.1.2.3, port: 9000, capacity: 16 }] }
    modal: { url: "https://w--a-f.modal.run", app: a, function: f, max_containers: 4, price_per_container_second: 0.0001 }
    capacity: { cost_cap_dollars_per_hour: 0.36 }
`);
    expect(r.ok ? [] : r.errors).toEqual([]);
    if (!r.ok) return;
    const s = r.config.services[0]!;
    expect(s.modal).toMatchObject({ rateLimit: { rps: 200, burst: 5 }, retry429InHouse: true, pricePerContainerSecond: 0.0001 });
    // $0.36 per hour at $0.0001 per container-second is 3,600 container-seconds per hour: one container.
    expect(s.capacity?.default.costCapContainerSecondsPerHour).toBeCloseTo(3600, 6);
  });

  it('refuses sticky and cost settings that cannot work, naming the field', () => {
    const errors = errorsOf(`
services:
  - name: api
    listener: 0.0.0.0:8080
    route: { sticky: { mode: sometimes, header: modal-session-id, cookie: { name: "a b", path: x } } }
    in_house: { endpoints: [{ address: 10.1.2.3, port: 9000, capacity: 16 }], host: "bad host" }
    modal: { url: "https://w--a-f.modal.run", app: a, function: f, max_containers: 4, rate_limit: { rps: 0 } }
    capacity: { cost_cap_dollars_per_hour: 1, cost_cap_container_seconds_per_hour: 100 }
`);
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^services\[0\]\.route\.sticky\.mode: /),
        expect.stringMatching(/^services\[0\]\.route\.sticky\.header: must not be modal-session-id/),
        expect.stringMatching(/^services\[0\]\.route\.sticky\.cookie\.name: /),
        expect.stringMatching(/^services\[0\]\.route\.sticky\.cookie\.path: /),
        expect.stringMatching(/^services\[0\]\.in_house\.host: /),
        expect.stringMatching(/^services\[0\]\.modal\.rate_limit\.rps: /),
        expect.stringMatching(/^services\[0\]\.capacity\.cost_cap_dollars_per_hour: set either/),
      ]),
    );
  });

  it('names every problem by field path', () => {
    const errors = errorsOf(`
xds: { listen: "nope" }
lrs: { interval_ms: 5 }
services:
  - name: Bad Name
    listener: 127.0.0.1:8080
    route: { timeout_ms: -1, retry: { retry_on: [sometimes] } }
    in_house:
      endpoints:
        - { address: backend.local, port: 70000, capacity: 0 }
    modal: { url: "http://x.modal.run/path", app: a, function: f, max_containers: 0, share: 2, colour: blue }
  - name: ok
    listener: 127.0.0.1:8080
    in_house: { endpoints: [] }
`);
    expect(errors).toEqual(
      expect.arrayContaining([
        'xds.listen: must be "host:port" with a port from 0 to 65535, got "nope"',
        'lrs.interval_ms: must be between 100 and 3600000, got 5',
        'services[0].name: must be lowercase letters, digits, - or _ (at most 63), got "Bad Name"',
        'services[0].route.timeout_ms: must be between 0 and 86400000, got -1',
        expect.stringMatching(/^services\[0\]\.route\.retry\.retry_on\[0\]: unknown retry condition "sometimes"/),
        'services[0].in_house.endpoints[0].address: must be an IP address (EDS endpoints are IPs), got "backend.local"',
        'services[0].in_house.endpoints[0].port: must be between 1 and 65535, got 70000',
        'services[0].in_house.endpoints[0].capacity: must be between 1 and 1000000, got 0',
        expect.stringMatching(/^services\[0\]\.modal\.colour: unknown field/),
        'services[0].modal.url: must use https (Envoy reaches Modal over TLS), got "http:"',
        'services[0].modal.url: must not have a path or query (the route forwards paths as they come)',
        'services[0].modal.max_containers: must be between 1 and 100000, got 0',
        'services[0].modal.share: must be between 0 and 1, got 2',
        'services[1].in_house.endpoints: must list at least one endpoint',
        'services[1].listener: port 127.0.0.1:8080 collides with services[0] (127.0.0.1:8080)',
      ]),
    );
  });

  it('refuses listener names, wildcard port collisions, port 0 for Modal and an unauthenticated remote admin', () => {
    const errors = errorsOf(`
admin: { listen: 0.0.0.0:18081 }
services:
  - name: a
    listener: localhost:8080
    in_house: { endpoints: [{ address: 10.0.0.1, port: 80, capacity: 1 }] }
  - name: b
    listener: 0.0.0.0:9090
    in_house: { endpoints: [{ address: 10.0.0.1, port: 80, capacity: 1 }] }
  - name: c
    listener: 127.0.0.1:9090
    in_house: { endpoints: [{ address: 10.0.0.1, port: 80, capacity: 1 }] }
    modal: { url: "https://x.modal.run:0", app: a, function: f, max_containers: 1 }
`);
    expect(errors).toEqual(
      expect.arrayContaining([
        'services[0].listener: must be an IP address and port, got host "localhost"',
        'services[2].listener: port 127.0.0.1:9090 collides with services[1] (0.0.0.0:9090)',
        'services[2].modal.url: must not use port 0',
        'admin.listen: 0.0.0.0 is reachable off this host: set admin.token_env so mutating admin calls need a token',
      ]),
    );
  });

  it('reports YAML syntax errors and missing required fields', () => {
    expect(errorsOf('services: [')[0]).toMatch(/^config: not valid YAML/);
    expect(errorsOf('xds: {}')).toEqual(['services: is required']);
    expect(
      errorsOf(
        'services:\n  - listener: 1.2.3.4:80\n    in_house: {endpoints: [{address: 1.2.3.4, port: 1, capacity: 1}]}\n    modal: {url: "https://a.modal.run"}',
      ),
    ).toEqual(
      expect.arrayContaining([
        'services[0].name: is required',
        'services[0].modal.app: is required',
        'services[0].modal.function: is required',
        'services[0].modal.max_containers: is required',
      ]),
    );
  });

  it('`spillway validate` prints the problems and exits non-zero; a good file exits 0', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spillway-cfg-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'services:\n  - name: x\n    listener: 1.2.3.4:80\n    in_house: {endpoints: [{address: 1.2.3.4, port: 1, capacity: -3}]}\n',
    );
    let code = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'validate', '--config', bad], { cwd: REPO_ROOT, stdio: 'pipe' });
    } catch (err) {
      code = (err as { status: number }).status;
      stderr = String((err as { stderr: Buffer }).stderr);
    }
    expect(code).toBe(1);
    expect(stderr).toContain('services[0].in_house.endpoints[0].capacity: must be between 1 and 1000000, got -3');
    const good = join(dir, 'good.yaml');
    writeFileSync(
      good,
      'services:\n  - name: x\n    listener: 1.2.3.4:80\n    in_house: {endpoints: [{address: 1.2.3.4, port: 1, capacity: 3}]}\n',
    );
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'validate', '--config', good], {
      cwd: REPO_ROOT,
    }).toString();
    expect(out).toContain('valid (1 service: x)');
  });
});
