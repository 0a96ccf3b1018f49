// Load reports steer real money (Modal) and real users (shedding): a client without a valid identity
// must not move any decision, however loud its reports. The same report from a node that may report
// does move it, which shows the attack would work without the identity checks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import type { LoadStatsRequest } from '../../src/generated/envoy/service/load_stats/v3/LoadStatsRequest.js';
import { localityOf } from '../../src/model/localities.js';
import { loadProtos } from '../../src/protos/load-protos.js';
import { LRS_PATH, RawGrpcConnection, type ClientTls } from '../../tools/fuzz/raw-grpc.js';
import { waitFor } from '../../tools/wait-for.js';
import { issueCert, makeTestPki, type TestPki } from '../../tools/pki.js';
import { sendRequests } from '../support/load.js';
import { envoyModalLocality, startControllerRig, type ControllerRig } from './controller-harness.js';

const TD = 'spiffe://spillway.test/envoy';
const lrsSerialize = loadProtos().protos.envoy.service.load_stats.v3.LoadReportingService.service.StreamLoadStats.requestSerialize;

/** A report of 5,000 rps offered to the in-house locality with 500 in flight: far over the in-house target. */
function loudReport(nodeId: string): LoadStatsRequest {
  const count = (n: number): string => String(n);
  return {
    node: { id: nodeId },
    cluster_stats: [
      {
        cluster_name: 'echo',
        load_report_interval: { seconds: 1 },
        total_dropped_requests: '0',
        upstream_locality_stats: [
          {
            locality: localityOf('in-house'),
            total_issued_requests: count(5000),
            total_successful_requests: count(5000),
            total_requests_in_progress: count(500),
          },
        ],
      },
    ],
  };
}

/** Sends loud reports as nodeId every 200 ms for ms; returns the statuses the streams ended with. */
async function shout(
  port: number,
  tls: ClientTls,
  nodeId: string,
  ms: number,
): Promise<Array<{ code: number | undefined; message: string }>> {
  const ends: Array<{ code: number | undefined; message: string }> = [];
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const conn = new RawGrpcConnection(`127.0.0.1:${port}`, { tls });
    const call = conn.open(LRS_PATH);
    const timer = setInterval(() => call.send(lrsSerialize(loudReport(nodeId))), 200);
    call.send(lrsSerialize(loudReport(nodeId)));
    ends.push(
      await Promise.race([
        call.ended,
        new Promise<{ code: undefined; message: string }>((r) =>
          setTimeout(() => r({ code: undefined, message: 'open' }), until - Date.now()),
        ),
      ]),
    );
    clearInterval(timer);
    conn.close();
  }
  return ends;
}

describe('LRS without a valid identity', () => {
  let pki: TestPki;
  let otherCa: TestPki;
  let rig: ControllerRig;
  const envoyId = 'envoy-real';

  beforeAll(async () => {
    pki = makeTestPki(['spillway.internal']);
    otherCa = makeTestPki(['spillway.internal']);
    const server = issueCert(pki, 'spillway', { dns: ['spillway.internal'], ips: ['127.0.0.1'], usage: 'server' });
    const envoyCert = issueCert(pki, envoyId, { uris: [`${TD}/${envoyId}`], usage: 'client' });
    rig = await startControllerRig({
      extra: {
        xds: {
          listen: '127.0.0.1:0',
          tls: { cert_file: server.certPath, key_file: server.keyPath, client_ca_file: pki.caPath },
          node_identity: { san: 'uri', template: `${TD}/{node_id}` },
        },
        lrs: { interval_ms: 500, reporters: ['envoy-*'] },
      },
      envoy: { nodeId: envoyId, tls: { certPath: envoyCert.certPath, keyPath: envoyCert.keyPath, caPath: pki.caPath } },
    });
  });
  afterAll(async () => {
    await rig?.close();
    pki?.cleanup();
    otherCa?.cleanup();
  });

  it('cannot change any decision; a node that may report can (the attack is real)', async () => {
    const port = rig.app.xdsPort;
    const tlsAs = (cert?: { certPem: string; keyPem: string }): ClientTls => ({
      ca: pki.caPem,
      servername: 'spillway.internal',
      ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}),
    });
    // Light real traffic: in-house only, the controller's decision is "in-house".
    const light = setInterval(() => void sendRequests(rig.url(20), 2, 2), 200);
    try {
      await waitFor(() => rig.app.read.service('echo')?.load?.reporters === 1, 15_000, 'the real Envoy reporting');
      const mode = (): string | undefined => rig.app.controller?.current('echo')?.mode;
      await waitFor(
        () => mode() === 'in-house',
        15_000,
        () => `an in-house decision (now ${mode()})`,
      );
      const decisionsBefore = rig.decisions.length;

      // Every decision while under attack: the published ones, and the controller's latest sampled often.
      const sampled: string[] = [];
      const sampler = setInterval(() => sampled.push(mode() ?? 'none'), 50);
      const intruder = issueCert(pki, 'intruder', { uris: [`${TD}/intruder`], usage: 'client' });
      const attacks = await Promise.all([
        shout(port, tlsAs(undefined), envoyId, 3000),
        shout(
          port,
          { ...tlsAs(issueCert(otherCa, 'foreign', { uris: [`${TD}/${envoyId}`], usage: 'client' })), ca: pki.caPem },
          envoyId,
          3000,
        ),
        shout(port, tlsAs(intruder), 'intruder', 3000),
        shout(port, tlsAs(intruder), envoyId, 3000),
      ]);
      // No certificate, or one from another CA: no TLS session, so no gRPC status at all.
      for (const ends of attacks.slice(0, 2)) {
        expect(ends.length).toBeGreaterThan(1);
        expect(ends.filter((e) => e.code !== undefined)).toEqual([]);
      }
      const ended = (i: number): Array<{ code: number | undefined; message: string }> => attacks[i]!.filter((e) => e.message !== 'open');
      expect(ended(2).length).toBeGreaterThan(1);
      expect(ended(2).every((e) => e.code === grpc.status.PERMISSION_DENIED && e.message.includes('lrs.reporters'))).toBe(true);
      expect(ended(3).length).toBeGreaterThan(1);
      expect(ended(3).every((e) => e.code === grpc.status.PERMISSION_DENIED && e.message.includes('xds.node_identity'))).toBe(true);

      clearInterval(sampler);
      expect(rig.decisions.slice(decisionsBefore).map((d) => d.reason)).toEqual([]);
      expect(sampled.length).toBeGreaterThan(20);
      expect(new Set(sampled)).toEqual(new Set(['in-house']));
      expect(rig.app.read.service('echo')!.offeredRps).toBeLessThan(100);
      expect(rig.app.read.service('echo')!.load!.reporters).toBe(1);
      expect((await envoyModalLocality(rig.envoy)).weight).toBe(0);
      expect(rig.app.read.lrsRejected()['refused-stream']).toBeGreaterThan(0);

      // The same report from a node whose certificate matches and which may report is believed.
      const forged = issueCert(pki, 'envoy-forged', { uris: [`${TD}/envoy-forged`], usage: 'client' });
      void shout(port, tlsAs(forged), 'envoy-forged', 3000);
      await waitFor(() => mode() !== 'in-house', 10_000, 'a trusted reporter to move the decision');
      expect(rig.app.read.service('echo')!.offeredRps).toBeGreaterThan(1000);
    } finally {
      clearInterval(light);
    }
  });
});
