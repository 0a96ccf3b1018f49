import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { parseConfigObject } from '../../src/config/parse-config.js';
import { changesNeedingRestart } from '../../src/config/reload-check.js';

const services = [
  { name: 'plain', listener: '127.0.0.1:20002', in_house: { endpoints: [{ address: '10.0.1.1', port: 80, capacity: 4 }] } },
];

const errorsOf = (ha: unknown, env: NodeJS.ProcessEnv = {}): string[] => {
  const r = parseConfigObject({ services, ha }, env);
  return r.ok ? [] : r.errors;
};

describe('ha: (replicas on etcd)', () => {
  it('refuses a state directory beside ha: the group keeps its state in etcd', () => {
    const r = parseConfigObject({ services, ha: { etcd: { endpoints: ['http://10.0.0.5:2379'] } }, state: { dir: '/var/lib/spillway' } });
    expect(r.ok ? [] : r.errors).toEqual([
      expect.stringMatching(/^state: is for a single Spillway: replicas \(ha\) keep their operating state in etcd/),
    ]);
  });

  it('is absent by default: a single process', () => {
    const r = parseConfigObject({ services });
    expect(r.ok && r.config.ha).toBeUndefined();
  });

  it('takes endpoints and fills in the prefix and lease TTL; the replica id defaults later (hostname-pid)', () => {
    const r = parseConfigObject({ services, ha: { etcd: { endpoints: ['http://10.0.0.5:2379', 'http://10.0.0.6:2379/'] } } });
    expect(r.ok ? r.config.ha : r.errors).toEqual({
      etcd: { endpoints: ['http://10.0.0.5:2379', 'http://10.0.0.6:2379'] },
      prefix: '/spillway/default',
      leaseTtlS: 5,
    });
  });

  it('reads TLS files and credentials, the password from the environment only', () => {
    const r = parseConfigObject(
      {
        services,
        ha: {
          etcd: {
            endpoints: ['https://etcd:2379'],
            ca_file: '/pki/ca.pem',
            cert_file: '/pki/client.pem',
            key_file: '/pki/client.key',
            username: 'spillway',
            password_env: 'ETCD_PASSWORD',
          },
          prefix: '/spillway/edge-eu',
          lease_ttl_s: 10,
          replica_id: 'spillway-0',
        },
      },
      { ETCD_PASSWORD: 'hunter2' },
    );
    expect(r.ok ? r.config.ha : r.errors).toEqual({
      etcd: {
        endpoints: ['https://etcd:2379'],
        tls: { caFile: '/pki/ca.pem', certFile: '/pki/client.pem', keyFile: '/pki/client.key' },
        auth: { username: 'spillway', password: 'hunter2' },
      },
      prefix: '/spillway/edge-eu',
      leaseTtlS: 10,
      replicaId: 'spillway-0',
    });
  });

  it('names the field of every problem', () => {
    expect(errorsOf({})).toEqual(['ha.etcd: is required (at least etcd.endpoints)']);
    expect(errorsOf({ etcd: { endpoints: [] } })).toEqual(['ha.etcd.endpoints: must list at least one etcd endpoint']);
    expect(errorsOf({ etcd: { endpoints: ['etcd:2379', 'ftp://x:1', 'http://x', 7] } })).toEqual([
      'ha.etcd.endpoints[0]: must be http:// or https://, got "etcd:"',
      'ha.etcd.endpoints[1]: must be http:// or https://, got "ftp:"',
      'ha.etcd.endpoints[2]: must name a port (etcd\'s client port is usually 2379), got "http://x"',
      'ha.etcd.endpoints[3]: must be a URL like http://127.0.0.1:2379, got number 7',
    ]);
    expect(errorsOf({ etcd: { endpoints: ['http://a:2379', 'https://b:2379'] } })).toEqual([
      'ha.etcd.endpoints: must all use the same scheme (http or https)',
    ]);
    expect(errorsOf({ etcd: { endpoints: ['http://a:2379'], ca_file: '/ca.pem' } })).toEqual([
      'ha.etcd.endpoints: must be https:// when ca_file, cert_file or key_file is set',
    ]);
    expect(errorsOf({ etcd: { endpoints: ['https://a:2379'], cert_file: '/c.pem' } })).toEqual([
      'ha.etcd.key_file: cert_file and key_file go together (the client certificate and its key)',
      "ha.etcd.ca_file: is required with cert_file (the CA that signed etcd's certificate)",
    ]);
    expect(errorsOf({ etcd: { endpoints: ['http://a:2379'], username: 'u' } })).toEqual([
      'ha.etcd.password_env: is required with username (the environment variable holding the password)',
    ]);
    expect(errorsOf({ etcd: { endpoints: ['http://a:2379'], username: 'u', password_env: 'NOPE' } })).toEqual([
      'ha.etcd.password_env: names NOPE, which is not set or empty',
    ]);
    expect(errorsOf({ etcd: { endpoints: ['http://a:2379'], password: 'x' } })).toEqual([
      'ha.etcd.password: unknown field (expected one of: endpoints, ca_file, cert_file, key_file, username, password_env)',
    ]);
    expect(errorsOf({ etcd: { endpoints: ['http://a:2379'] }, prefix: 'spillway/' })).toEqual([
      'ha.prefix: must start with "/", not end with "/" and hold no spaces, got "spillway/"',
    ]);
    expect(errorsOf({ etcd: { endpoints: ['http://a:2379'] }, lease_ttl_s: 1 })).toEqual([
      'ha.lease_ttl_s: must be between 2 and 60, got 1',
    ]);
    expect(errorsOf({ etcd: { endpoints: ['http://a:2379'] }, replica_id: 'a b' })).toEqual([
      'ha.replica_id: must be letters, digits, ".", "_" or "-" (at most 128), got "a b"',
    ]);
  });

  it('needs a restart to change', () => {
    const base = loadConfig();
    const next = { ...base, ha: { etcd: { endpoints: ['http://127.0.0.1:2379'] }, prefix: '/spillway/x', leaseTtlS: 5 } };
    expect(changesNeedingRestart(base, next)).toEqual(['ha: changed (takes effect on restart)']);
  });
});
