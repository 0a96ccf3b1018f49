import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfigObject } from '../../src/config/parse-config.js';
import { REPO_ROOT } from '../../tools/repo.js';

// Compose applies YAML merge keys (<<: *anchor); so does this reading.
const read = (p: string): any => parse(readFileSync(join(REPO_ROOT, p), 'utf8'), { merge: true });
const env = { SPILLWAY_ADMIN_TOKEN: 'compose-demo-admin-token' };
const config = (p: string) => {
  const r = parseConfigObject(read(p), env);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.config;
};

describe('docker-compose.replicas.yml: three replicas on etcd', () => {
  const base = read('docker-compose.yml');
  const over = read('docker-compose.replicas.yml');
  const single = config('compose/spillway.yaml');
  const replicated = config('compose/spillway-replicas.yaml');
  const replicas = ['spillway', 'spillway-2', 'spillway-3'];

  it('runs the single-process topology with `ha:` added (and no state directory), pointed at the etcd service', () => {
    // The group keeps its state in etcd; the single process keeps its own in a state directory.
    const { ha, ...rest } = replicated;
    const { state, ...singleRest } = single;
    expect(state?.dir).toBe('/var/lib/spillway');
    expect(rest).toEqual(singleRest);
    expect(ha?.etcd.endpoints).toEqual(['http://etcd:2379']);
    expect(over.services.etcd.command).toEqual(
      expect.arrayContaining(['--advertise-client-urls', 'http://etcd:2379', '--auto-compaction-mode']),
    );
    expect(over.services.etcd.image).toMatch(/etcd:v3\.(5\.([6-9]|\d\d+)|[6-9]\.)/);
  });

  it('starts every replica from that file, on the image the base file builds, once etcd and the fake Modal are healthy', () => {
    for (const name of replicas) {
      const svc = over.services[name];
      expect(svc.command).toEqual(['node', 'dist/src/cli.js', 'serve', '--config', '/app/compose/spillway-replicas.yaml']);
      expect(svc.image).toBe(base.services.spillway.image);
      expect(svc.depends_on).toEqual({ 'fake-modal': { condition: 'service_healthy' }, etcd: { condition: 'service_healthy' } });
      expect(svc.environment.MODAL_SERVER_URL).toBe(base.services.spillway.environment.MODAL_SERVER_URL);
      expect(new Set(replicas.map((r) => over.services[r].hostname)).size).toBe(3);
    }
  });

  it("Envoy's bootstrap lists every replica's xDS port and is otherwise the single-process one", () => {
    const single = read('envoy/envoy.compose.yaml');
    const multi = read('envoy/envoy.compose-replicas.yaml');
    const xds = (b: any): any => b.static_resources.clusters.find((c: any) => c.name === 'spillway_xds');
    const hosts = xds(multi).load_assignment.endpoints[0].lb_endpoints.map((e: any) => e.endpoint.address.socket_address);
    expect(hosts).toEqual(replicas.map((address) => ({ address, port_value: replicated.xds.listen.port })));
    const { load_assignment: _a, ...restMulti } = xds(multi);
    const { load_assignment: _b, ...restSingle } = xds(single);
    expect(restMulti).toEqual(restSingle);
    expect({ ...multi, static_resources: undefined }).toEqual({ ...single, static_resources: undefined });
    expect(over.services.envoy.volumes).toContain('./envoy/envoy.compose-replicas.yaml:/etc/envoy/envoy.yaml:ro');
  });
});
