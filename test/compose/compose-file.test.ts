import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load-config.js';
import { parseConfigObject } from '../../src/config/parse-config.js';
import { BACKEND_FLAGS, FAKE_MODAL_CONTROL_PORT, FAKE_MODAL_FLAGS, LOADGEN_DEFAULTS, LOADGEN_FLAGS } from '../../scripts/demo/topology.js';
import { REPO_ROOT } from '../../tools/repo.js';

const read = (p: string): any => parse(readFileSync(join(REPO_ROOT, p), 'utf8'));
const compose = read('docker-compose.yml');
const flag = (cmd: string[], name: string): string | undefined => cmd[cmd.indexOf(name) + 1];
const containsRun = (cmd: readonly string[], run: readonly string[]): boolean => cmd.some((_, i) => run.every((r, j) => cmd[i + j] === r));

describe('docker-compose.yml agrees with the native demo', () => {
  const native = loadConfig().services[0]!;
  // Compose interpolates ${VAR:-default}; the test uses the default, as `docker compose up` would.
  const env = Object.fromEntries(
    Object.entries(compose.services.spillway.environment as Record<string, string>).map(([k, v]) => [
      k,
      v.replace(/^\$\{[A-Z_]+:-(.*)\}$/, '$1'),
    ]),
  );
  const parsed = parseConfigObject(read('compose/spillway.yaml'), env);
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  const composed = parsed.config.services[0]!;

  it("Spillway's compose config validates and describes the same service as the built-in defaults", () => {
    expect(composed.name).toBe(native.name);
    expect(composed.listener.port).toBe(native.listener.port);
    expect(composed.route).toEqual(native.route);
    expect(composed.capacity).toEqual(native.capacity);
    expect(composed.inHouse.map((e) => [e.port, e.capacity])).toEqual(native.inHouse.map((e) => [e.port, e.capacity]));
    const { maxInputs, maxContainers, app, function: fn, port } = native.modal!;
    expect(composed.modal).toMatchObject({ maxInputs, maxContainers, app, function: fn, port });
    expect(compose.services.spillway.command).toEqual(['node', 'dist/src/cli.js', 'serve', '--config', '/app/compose/spillway.yaml']);
  });

  it('every in-house endpoint is a backend container at that address, port and slot count, run like the demo', () => {
    for (const e of composed.inHouse) {
      const svc = Object.values(compose.services as Record<string, any>).find((s) => s.networks?.spillway?.ipv4_address === e.address);
      expect(svc, `backend at ${e.address}`).toBeDefined();
      expect(flag(svc.command, '--port')).toBe(String(e.port));
      expect(flag(svc.command, '--slots')).toBe(String(e.capacity));
      expect(flag(svc.command, '--host')).toBe('0.0.0.0');
      expect(containsRun(svc.command, BACKEND_FLAGS)).toBe(true);
    }
  });

  it('the fake Modal serves the configured URL and function with the demo simulation, and Spillway talks to it', () => {
    const cmd: string[] = compose.services['fake-modal'].command;
    expect(flag(cmd, '--https-port')).toBe(String(composed.modal!.port));
    expect(flag(cmd, '--tls-names')).toBe(composed.modal!.hostname);
    expect(flag(cmd, '--function')).toBe(`${composed.modal!.app}/${composed.modal!.function}`);
    expect(flag(cmd, '--max-inputs')).toBe(String(composed.modal!.maxInputs));
    expect(flag(cmd, '--max-containers')).toBe(String(composed.modal!.maxContainers));
    expect(containsRun(cmd, FAKE_MODAL_FLAGS)).toBe(true);
    expect(flag(cmd, '--control-port')).toBe(String(FAKE_MODAL_CONTROL_PORT));
    expect(compose.services.spillway.environment.MODAL_SERVER_URL).toBe(`http://fake-modal:${FAKE_MODAL_CONTROL_PORT}`);
    // Envoy verifies Modal against the CA the fake writes into the shared volume.
    expect(composed.modal!.caBundle.startsWith('/pki/')).toBe(true);
    expect(compose.services.envoy.volumes).toContain('pki:/pki:ro');
    expect(compose.services['fake-modal'].volumes).toContain('pki:/pki');
  });

  it("Envoy's compose bootstrap is the shipped one, pointed at the spillway service", () => {
    const shipped = read('envoy/envoy.yaml');
    const composeBoot = read('envoy/envoy.compose.yaml');
    const xds = (b: any): any => b.static_resources.clusters.find((c: any) => c.name === 'spillway_xds');
    expect(composeBoot.dynamic_resources).toEqual(shipped.dynamic_resources);
    expect(composeBoot.cluster_manager).toEqual(shipped.cluster_manager);
    expect(xds(composeBoot).load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({
      address: 'spillway',
      port_value: parsed.config.xds.listen.port,
    });
    expect(compose.services.envoy.ports).toContain(`127.0.0.1:${composed.listener.port}:${composed.listener.port}`);
  });

  it('the load generator runs the demo scenario against Envoy', () => {
    const cmd: string[] = compose.services.loadgen.command;
    expect(flag(cmd, '--url')).toBe(`http://envoy:${composed.listener.port}`);
    expect(containsRun(cmd, LOADGEN_FLAGS)).toBe(true);
    expect(flag(cmd, '--duration')).toBe(String(LOADGEN_DEFAULTS.durationS));
    expect(flag(cmd, '--peak-rps')).toBe(String(LOADGEN_DEFAULTS.peakRps));
    expect(flag(cmd, '--base-rps')).toBe(String(LOADGEN_DEFAULTS.baseRps));
  });
});
