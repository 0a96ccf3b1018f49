import { describe, expect, it } from 'vitest';
import { startSpillway } from '../../src/app/spillway-app.js';
import { DEFAULT_ADMIN_LIMITS, DEFAULT_LRS_LIMITS, DEFAULT_XDS_LIMITS } from '../../src/config/security-config.js';
import { parseConfigObject } from '../../src/config/parse-config.js';
import { configFrom } from '../../tools/config-fixtures.js';
import { PROTOCOL_TEST_CONFIG } from '../xds/fixtures.js';

const errorsOf = (extra: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): string[] => {
  const r = parseConfigObject({ ...PROTOCOL_TEST_CONFIG, ...extra }, env);
  return r.ok ? [] : r.errors;
};

describe('security configuration', () => {
  it('defaults: plaintext, no node binding, any reporter, every limit at its safe default', () => {
    const c = configFrom(PROTOCOL_TEST_CONFIG);
    expect(c.xds.tls).toBeUndefined();
    expect(c.xds.nodeIdentity).toBeUndefined();
    expect(c.xds.limits).toEqual(DEFAULT_XDS_LIMITS);
    expect(c.lrs.reporters).toEqual(['*']);
    expect(c.lrs.limits).toEqual(DEFAULT_LRS_LIMITS);
    expect(c.admin.limits).toEqual(DEFAULT_ADMIN_LIMITS);
    expect(c.admin.tls).toBeUndefined();
    expect(DEFAULT_XDS_LIMITS).toMatchObject({ maxMessageBytes: 4 * 1024 * 1024, maxNamesPerSubscription: 10_000, maxStreamsPerNode: 8 });
  });

  it('reads mutual TLS, the node identity rule, reporters and limits', () => {
    const c = configFrom({
      ...PROTOCOL_TEST_CONFIG,
      xds: {
        listen: '127.0.0.1:0',
        tls: { cert_file: '/s.pem', key_file: '/s.key', client_ca_file: '/ca.pem' },
        node_identity: { san: 'dns', template: '{node_id}.envoys.internal' },
        limits: { max_streams_per_node: 2 },
      },
      lrs: { reporters: ['edge-*'], limits: { max_requests_per_second: 5000 } },
      admin: { listen: '127.0.0.1:0', tls: { cert_file: '/a.pem', key_file: '/a.key' }, limits: { max_reason_bytes: 64 } },
      metrics: { listen: '127.0.0.1:0', tls: { cert_file: '/m.pem', key_file: '/m.key', reload_interval_ms: 1000 } },
    });
    expect(c.metrics.tls).toEqual({ certFile: '/m.pem', keyFile: '/m.key', requireClientCert: false, reloadIntervalMs: 1000 });
    expect(c.xds.tls).toEqual({
      certFile: '/s.pem',
      keyFile: '/s.key',
      clientCaFile: '/ca.pem',
      requireClientCert: true,
      reloadIntervalMs: 5000,
    });
    expect(c.xds.nodeIdentity).toEqual({ san: 'dns', template: '{node_id}.envoys.internal' });
    expect(c.xds.limits.maxStreamsPerNode).toBe(2);
    expect(c.lrs.reporters).toEqual(['edge-*']);
    expect(c.lrs.limits.maxRequestsPerSecond).toBe(5000);
    expect(c.admin.tls).toEqual({ certFile: '/a.pem', keyFile: '/a.key', requireClientCert: false, reloadIntervalMs: 5000 });
    expect(c.admin.limits.maxReasonBytes).toBe(64);
  });

  it('names the field of every problem', () => {
    expect(
      errorsOf({
        xds: {
          tls: { cert_file: '/s.pem', require_client_cert: true, colour: 'red' },
          node_identity: { san: 'email', template: 'spiffe://td/envoy' },
          limits: { max_streams_per_node: 0, max_bananas: 1 },
        },
        lrs: { reporters: [], limits: { min_report_interval_ms: 5000, max_report_interval_ms: 1000 } },
        admin: { listen: '127.0.0.1:0', read_token_env: 'NOPE', limits: { max_reason_bytes: -1 } },
        metrics: { listen: '127.0.0.1:0', tls: { key_file: '/m.key' } },
      }),
    ).toEqual([
      'admin.read_token_env: names NOPE, which is not set or empty',
      'xds.tls.colour: unknown field (expected one of: cert_file, key_file, client_ca_file, require_client_cert, reload_interval_ms)',
      'xds.tls.require_client_cert: needs client_ca_file (the CA client certificates are verified against)',
      'xds.tls.key_file: is required',
      'xds.node_identity: needs xds.tls.client_ca_file (a node is bound to its verified client certificate)',
      'xds.node_identity.template: must contain {node_id} (the node id\'s place in the SAN), got "spiffe://td/envoy"',
      'xds.node_identity.san: must be one of uri, dns, any, got "email"',
      'xds.limits.max_bananas: unknown field (expected one of: max_message_bytes, max_names_per_subscription, max_name_bytes, max_streams_per_connection, max_streams_per_node, max_node_id_bytes, max_nonce_bytes, max_version_bytes, max_requests_per_second, request_burst, max_send_buffer_bytes, max_error_detail_bytes)',
      'xds.limits.max_streams_per_node: must be between 1 and 100000, got 0',
      'lrs.reporters: must list at least one node id pattern (use "*" for any)',
      'lrs.limits.min_report_interval_ms: must not exceed lrs.limits.max_report_interval_ms (1000)',
      'admin.limits.max_reason_bytes: must be between 1 and 65536, got -1',
      'metrics.tls.cert_file: is required',
    ]);
  });

  it('the read token must differ from the admin token', () => {
    expect(
      errorsOf({ admin: { listen: '127.0.0.1:0', token_env: 'A', read_token_env: 'B' } }, { A: 'same-token', B: 'same-token' }),
    ).toEqual(['admin.read_token_env: must hold a different token than admin.token_env']);
  });

  it('a TLS file that cannot be read stops start-up, naming the field (never its content)', async () => {
    const config = configFrom({
      ...PROTOCOL_TEST_CONFIG,
      xds: { listen: '127.0.0.1:0', tls: { cert_file: '/nonexistent/spillway.pem', key_file: '/nonexistent/spillway.key' } },
    });
    await expect(startSpillway(config)).rejects.toThrow('xds.tls.cert_file: cannot read /nonexistent/spillway.pem (ENOENT)');
  });
});
