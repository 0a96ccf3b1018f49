import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpillwayApp } from '../../src/app/spillway-app.js';
import { planForShare } from '../../src/model/traffic-plan.js';
import type { XdsEvent } from '../../src/xds/xds-events.js';
import type { RefusalEvent } from '../../src/xds/xds-gate.js';
import { startEnvoy, type EnvoyHandle } from '../../tools/envoy/envoy-process.js';
import { waitFor } from '../../tools/wait-for.js';
import { configFrom } from '../../tools/config-fixtures.js';
import { issueCert, makeTestPki, replaceCert, type IssuedCert, type TestPki } from '../../tools/pki.js';
import { sendRequests } from '../support/load.js';
import { startApp, startTopology, type Topology } from './harness.js';

const TRUST_DOMAIN = 'spiffe://spillway.test/envoy';

/** The SHA-256 fingerprint of the certificate a new TLS connection to the xDS port is shown. */
function servedFingerprint(port: number, pki: TestPki, client: IssuedCert): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      {
        host: '127.0.0.1',
        port,
        servername: 'spillway.internal',
        ca: pki.caPem,
        cert: client.certPem,
        key: client.keyPem,
        ALPNProtocols: ['h2'],
      },
      () => {
        const fp = socket.getPeerCertificate().fingerprint256;
        socket.destroy();
        resolve(fp);
      },
    );
    socket.on('error', reject);
  });
}

describe.each(['GRPC', 'DELTA_GRPC'] as const)('real Envoy over mutual TLS (api_type %s)', (apiType) => {
  let topo: Topology;
  let pki: TestPki;
  let serverCert: IssuedCert;
  let app: SpillwayApp;
  let envoy: EnvoyHandle;
  const nodeId = `envoy-mtls-${apiType.toLowerCase()}`;
  const events: XdsEvent[] = [];
  const refusals: RefusalEvent[] = [];

  beforeAll(async () => {
    topo = await startTopology();
    pki = makeTestPki(['spillway.internal']);
    serverCert = issueCert(pki, 'spillway', { dns: ['spillway.internal'], ips: ['127.0.0.1'], usage: 'server' });
    const config = configFrom({
      ...topo.rawConfig,
      xds: {
        listen: '127.0.0.1:0',
        tls: { cert_file: serverCert.certPath, key_file: serverCert.keyPath, client_ca_file: pki.caPath, reload_interval_ms: 200 },
        node_identity: { san: 'uri', template: `${TRUST_DOMAIN}/{node_id}` },
      },
      lrs: { reporters: ['envoy-mtls-*'] },
    });
    app = await startApp(config);
    app.events.on((e) => events.push(e));
    app.gate.onRefused((e) => refusals.push(e));
    const client = issueCert(pki, nodeId, { uris: [`${TRUST_DOMAIN}/${nodeId}`], usage: 'client' });
    envoy = await startEnvoy({
      xdsPort: app.xdsPort,
      nodeId,
      apiType,
      tls: { certPath: client.certPath, keyPath: client.keyPath, caPath: pki.caPath },
    });
  });
  afterAll(async () => {
    await envoy?.stop();
    await app?.stop();
    await topo?.close();
    pki?.cleanup();
  });

  const url = (): string => `http://127.0.0.1:${topo.listenerPort}/hello`;

  it('syncs over mutual TLS, serves traffic and reports load', async () => {
    const r = await waitFor(
      async () => {
        const res = await sendRequests(url(), 20, 4);
        return res.ok === 20 ? res : undefined;
      },
      20_000,
      'traffic through the mTLS-configured Envoy',
    );
    expect(Object.keys(r.byServer).sort()).toEqual(['inhouse-a', 'inhouse-b']);
    expect(events.some((e) => e.kind === 'stream-opened' && e.nodeId === nodeId)).toBe(true);
    expect(events.some((e) => e.kind === 'nack')).toBe(false);
    // LRS rides the same mutual-TLS cluster, and this node may report.
    await waitFor(() => app.lrs.connectedNodes().includes(nodeId), 15_000, 'the Envoy on LRS');
    expect(refusals).toEqual([]);
  });

  it('refuses an Envoy whose certificate is another identity, with PERMISSION_DENIED naming the rule', async () => {
    const impostorId = `envoy-impostor-${apiType.toLowerCase()}`;
    // A valid certificate from the right CA, but for someone else's identity.
    const stolen = issueCert(pki, `${impostorId}-cert`, { uris: [`${TRUST_DOMAIN}/${nodeId}`], usage: 'client' });
    const impostor = await startEnvoy({
      xdsPort: app.xdsPort,
      nodeId: impostorId,
      apiType,
      tls: { certPath: stolen.certPath, keyPath: stolen.keyPath, caPath: pki.caPath },
    });
    try {
      await waitFor(
        () => refusals.some((r) => r.nodeId === impostorId && r.rule === 'xds.node_identity' && r.code === 'PERMISSION_DENIED'),
        15_000,
        'a node identity refusal',
      );
      // Envoy saw the status and its reason.
      await waitFor(
        () => impostor.logs().includes('xds.node_identity'),
        15_000,
        () => `Envoy to log the refusal:\n${impostor.logs()}`,
      );
      const dump = await impostor.configDump();
      expect(JSON.stringify(dump)).not.toContain('dynamic_active_clusters');
      expect(events.some((e) => e.kind === 'stream-opened' && e.nodeId === impostorId)).toBe(false);
      expect(app.syncStatus.node(impostorId)).toEqual([]);
      // The genuine Envoy is untouched.
      const r = await sendRequests(url(), 20, 4);
      expect(r.failed, r.errors.join(', ')).toBe(0);
    } finally {
      await impostor.stop();
    }
  });

  it('picks up a certificate rotated on disk without dropping the Envoy stream', async () => {
    const before = await servedFingerprint(app.xdsPort, pki, issueCert(pki, 'probe', { uris: [`${TRUST_DOMAIN}/probe`], usage: 'client' }));
    const opened = events.filter((e) => e.kind === 'stream-opened' && e.nodeId === nodeId).length;
    const rotated = issueCert(pki, 'spillway-next', { dns: ['spillway.internal'], ips: ['127.0.0.1'], usage: 'server' });
    replaceCert(rotated, serverCert);
    const probe = issueCert(pki, 'probe', { uris: [`${TRUST_DOMAIN}/probe`], usage: 'client' });
    const after = await waitFor(
      async () => {
        const fp = await servedFingerprint(app.xdsPort, pki, probe);
        return fp !== before ? fp : undefined;
      },
      10_000,
      'new handshakes to be served the rotated certificate',
    );
    expect(after).not.toBe(before);

    // The Envoy keeps its stream (no reconnect) and still takes pushes over it.
    const plan = planForShare(0.3);
    expect(app.publisher.setPlan('echo', plan).ok).toBe(true);
    await waitFor(
      async () => (await envoy.localities('echo')).get('modal')?.weight === plan.modalWeight,
      15_000,
      'the push after rotation',
    );
    expect(events.filter((e) => e.kind === 'stream-opened' && e.nodeId === nodeId)).toHaveLength(opened);
    expect(events.some((e) => e.kind === 'stream-closed' && e.nodeId === nodeId)).toBe(false);
    const stats = await envoy.stats('control_plane.connected_state');
    expect(stats['control_plane.connected_state']).toBe(1);
  });
});
