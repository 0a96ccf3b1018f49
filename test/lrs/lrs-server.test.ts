import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import type { UpstreamLocalityStats } from '../../src/generated/envoy/config/endpoint/v3/UpstreamLocalityStats.js';
import type { LoadReportingServiceClient } from '../../src/generated/envoy/service/load_stats/v3/LoadReportingService.js';
import type { LoadStatsRequest } from '../../src/generated/envoy/service/load_stats/v3/LoadStatsRequest.js';
import type { LoadStatsResponse__Output } from '../../src/generated/envoy/service/load_stats/v3/LoadStatsResponse.js';
import { IN_HOUSE_LOCALITY, MODAL_LOCALITY } from '../../src/model/localities.js';
import type { LoadSnapshot } from '../../src/lrs/load-view.js';
import { DEFAULT_REPORT_LIMITS } from '../../src/lrs/load-report.js';
import { addLrsService, createLrsService, MAX_FOLLOW_UP_ENVOYS, type LrsService } from '../../src/lrs/lrs-server.js';
import { loadProtos } from '../../src/protos/load-protos.js';
import { VirtualTime } from '../support/virtual-time.js';

type LrsStream = grpc.ClientDuplexStream<LoadStatsRequest, LoadStatsResponse__Output>;

/** A client stream that queues what the server sends so tests can await each response in turn. */
class ReportingEnvoy {
  private readonly responses: LoadStatsResponse__Output[] = [];
  private waiters: ((r: LoadStatsResponse__Output) => void)[] = [];
  readonly ended: Promise<grpc.StatusObject>;

  constructor(readonly call: LrsStream) {
    call.on('data', (r: LoadStatsResponse__Output) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter(r);
      else this.responses.push(r);
    });
    this.ended = new Promise((resolve) => call.on('status', resolve));
    call.on('error', () => {});
  }

  nextResponse(): Promise<LoadStatsResponse__Output> {
    const queued = this.responses.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  pending(): number {
    return this.responses.length;
  }
}

function report(cluster: string, windowMs: number, inHouse: { inProgress: number; issued: number }, modalIssued = 0): LoadStatsRequest {
  const localities: UpstreamLocalityStats[] = [
    {
      locality: IN_HOUSE_LOCALITY,
      total_requests_in_progress: inHouse.inProgress,
      total_issued_requests: inHouse.issued,
      total_successful_requests: inHouse.issued,
    },
  ];
  if (modalIssued > 0)
    localities.push({
      locality: MODAL_LOCALITY,
      total_requests_in_progress: 0,
      total_issued_requests: modalIssued,
      total_successful_requests: modalIssued,
    });
  return {
    cluster_stats: [
      {
        cluster_name: cluster,
        upstream_locality_stats: localities,
        load_report_interval: { seconds: Math.floor(windowMs / 1000), nanos: (windowMs % 1000) * 1e6 },
        total_dropped_requests: 0,
      },
    ],
  };
}

/** Resolves with the first snapshot the predicate accepts (reports arrive asynchronously over gRPC). */
function waitForLoad(lrs: LrsService, predicate: (s: LoadSnapshot) => boolean): Promise<LoadSnapshot> {
  return new Promise((resolve) => {
    if (predicate(lrs.view.snapshot())) return resolve(lrs.view.snapshot());
    const off = lrs.view.subscribe((s) => {
      if (predicate(s)) {
        off();
        resolve(s);
      }
    });
  });
}

/** Serves the LRS service on a loopback port and connects a client to it. */
async function serve(lrs: LrsService): Promise<{ server: grpc.Server; client: LoadReportingServiceClient }> {
  const server = new grpc.Server();
  const { protos } = loadProtos();
  addLrsService(server, lrs, protos);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const Client = protos.envoy.service.load_stats.v3.LoadReportingService;
  return { server, client: new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) };
}

describe('LRS server over gRPC', () => {
  let time: VirtualTime;
  let server: grpc.Server;
  let client: LoadReportingServiceClient;
  let lrs: LrsService;
  let services: string[];

  beforeEach(async () => {
    time = new VirtualTime();
    services = ['search', 'api'];
    lrs = createLrsService({ clock: time, scheduler: time, logger: silentLogger, clusters: () => services, intervalMs: 1000 });
    ({ server, client } = await serve(lrs));
  });

  afterEach(() => {
    lrs.close();
    client.close();
    server.forceShutdown();
  });

  function connect(nodeId: string): ReportingEnvoy {
    const envoy = new ReportingEnvoy(client.StreamLoadStats());
    envoy.call.write({ node: { id: nodeId, cluster: 'edge', client_features: ['envoy.lrs.supports_send_all_clusters'] } });
    return envoy;
  }

  it('answers the node with the configured clusters and interval, and aggregates the reports', async () => {
    const a = connect('envoy-a');
    const first = await a.nextResponse();
    expect(first.clusters).toEqual(['api', 'search']);
    expect(first.send_all_clusters).toBe(false);
    expect(first.load_reporting_interval).toEqual({ seconds: '1', nanos: 0 });

    const b = connect('envoy-b');
    await b.nextResponse();
    a.call.write(report('api', 1000, { inProgress: 3, issued: 50 }, 10));
    b.call.write(report('api', 2000, { inProgress: 2, issued: 100 }));
    const snap = await waitForLoad(lrs, (s) => s.services[0]?.reporters === 2);
    expect(snap.connectedEnvoys).toBe(2);
    expect(lrs.view.service('api')?.localities['in-house']).toMatchObject({ inProgress: 5, issuedRps: 100, successRps: 100, reporters: 2 });
    expect(lrs.view.service('api')?.localities.modal).toMatchObject({ issuedRps: 10 });
    expect(lrs.view.localityLoads().map((l) => `${l.service}/${l.locality}`)).toEqual(['api/in-house', 'api/modal']);
    expect(lrs.connectedNodes()).toEqual(['envoy-a', 'envoy-b']);

    // Reports for clusters Spillway did not ask for are counted and ignored; the stream lives on.
    a.call.write(report('unknown', 1000, { inProgress: 1, issued: 1 }));
    a.call.write(report('search', 1000, { inProgress: 0, issued: 7 }));
    const later = await waitForLoad(lrs, (s) => s.services.some((x) => x.service === 'search'));
    expect(later.rejected['unknown-cluster']).toBe(1);
  });

  it('re-instructs Envoys when the cluster set or the interval changes', async () => {
    const a = connect('envoy-a');
    await a.nextResponse();
    lrs.refresh();
    services = ['api', 'search', 'video'];
    lrs.refresh();
    expect((await a.nextResponse()).clusters).toEqual(['api', 'search', 'video']);
    lrs.setIntervalMs(2500);
    expect((await a.nextResponse()).load_reporting_interval).toEqual({ seconds: '2', nanos: 500_000_000 });
    // Nothing changed: no new epoch (the unchanged refresh above sent nothing either).
    lrs.refresh();
    services.pop();
    // The periodic sweep also notices a changed cluster set.
    await time.advance(2500);
    expect((await a.nextResponse()).clusters).toEqual(['api', 'search']);
    expect(a.pending()).toBe(0);
  });

  it('expires the reports of an Envoy that goes silent or disconnects', async () => {
    const a = connect('envoy-a');
    const b = connect('envoy-b');
    await Promise.all([a.nextResponse(), b.nextResponse()]);
    a.call.write(report('api', 1000, { inProgress: 1, issued: 10 }));
    b.call.write(report('api', 1000, { inProgress: 1, issued: 30 }));
    await waitForLoad(lrs, (s) => s.services[0]?.reporters === 2);

    // B hangs up: it counts for one more interval (grace), then not.
    b.call.end();
    await b.ended;
    await waitForLoad(lrs, (s) => s.connectedEnvoys === 1);
    const changes: LoadSnapshot[] = [];
    lrs.view.subscribe((s) => changes.push(s));
    await time.advance(1000);
    expect(lrs.view.service('api')?.localities['in-house']).toMatchObject({ issuedRps: 10, reporters: 1 });
    expect(changes.at(-1)?.services[0]?.reporters).toBe(1);

    // A goes silent: after three intervals its last report no longer counts.
    await time.advance(2000);
    expect(lrs.view.snapshot().services).toEqual([]);
    expect(changes.at(-1)?.services).toEqual([]);
  });

  it('replaces the old stream when an Envoy reconnects, without double counting', async () => {
    const first = connect('envoy-a');
    await first.nextResponse();
    first.call.write(report('api', 1000, { inProgress: 4, issued: 40 }));
    await waitForLoad(lrs, (s) => s.services.length === 1);

    const second = connect('envoy-a');
    await second.nextResponse();
    second.call.write(report('api', 1000, { inProgress: 6, issued: 60 }));
    await waitForLoad(lrs, (s) => s.services[0]?.localities['in-house'].inProgress === 6);
    first.call.end();
    await first.ended;
    await waitForLoad(lrs, (s) => s.connectedEnvoys === 1);
    // The old stream's close must not start the disconnect grace of the new one.
    await time.advance(2000);
    expect(lrs.view.service('api')?.localities['in-house']).toMatchObject({ inProgress: 6, issuedRps: 60, reporters: 1 });
  });

  it('ends a stream whose first request has no node id, and keeps serving others', async () => {
    const anonymous = new ReportingEnvoy(client.StreamLoadStats());
    anonymous.call.write(report('api', 1000, { inProgress: 1, issued: 1 }));
    const status = await anonymous.ended;
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(lrs.view.snapshot().rejected['missing-node']).toBe(1);

    const a = connect('envoy-a');
    expect((await a.nextResponse()).clusters).toEqual(['api', 'search']);
  });

  it('a follow-up asks each reporting Envoy for one report sooner, then the usual interval again; never while one is pending', async () => {
    const a = connect('envoy-a');
    const b = connect('envoy-b');
    await Promise.all([a.nextResponse(), b.nextResponse()]);
    // Never at or past the usual interval.
    expect(lrs.followUp(1000)).toBe(0);
    expect(lrs.followUp(400)).toBe(2);
    for (const envoy of [a, b]) {
      const early = await envoy.nextResponse();
      expect(early.load_reporting_interval).toEqual({ seconds: '0', nanos: 400_000_000 });
      expect(early.clusters).toEqual(['api', 'search']);
    }
    // Asked again while the early reports are due: nothing sent.
    expect(lrs.followUp(400)).toBe(0);
    // A's early report comes: A goes back to the usual interval; B, still due, is not told yet.
    a.call.write(report('api', 400, { inProgress: 1, issued: 8 }));
    expect((await a.nextResponse()).load_reporting_interval).toEqual({ seconds: '1', nanos: 0 });
    await waitForLoad(lrs, (s) => s.services[0]?.localities['in-house'].issuedRps === 20);
    expect(b.pending()).toBe(0);
    b.call.write(report('api', 400, { inProgress: 0, issued: 4 }));
    expect((await b.nextResponse()).load_reporting_interval).toEqual({ seconds: '1', nanos: 0 });
    // A usual report after that changes nothing on the stream.
    a.call.write(report('api', 1000, { inProgress: 1, issued: 20 }));
    await waitForLoad(lrs, (s) => s.services[0]?.localities['in-house'].issuedRps === 30);
    expect(a.pending()).toBe(0);
    // Both answered, but not a whole early window since the ask (the reports crossed it): nothing.
    expect(lrs.followUp(400)).toBe(0);
    // One early window on, an answer may itself ask again.
    await time.advance(400);
    expect(lrs.followUp(400)).toBe(2);
  });

  it('asks no follow-up of a large fleet, whose spread reports keep the sum fresh anyway', async () => {
    const fleet = Array.from({ length: MAX_FOLLOW_UP_ENVOYS + 1 }, (_, i) => connect(`envoy-${i}`));
    await Promise.all(fleet.map((e) => e.nextResponse()));
    expect(lrs.followUp(400)).toBe(0);
    fleet[0]!.call.end();
    await fleet[0]!.ended;
    await waitForLoad(lrs, (s) => s.connectedEnvoys === MAX_FOLLOW_UP_ENVOYS);
    expect(lrs.followUp(400)).toBe(MAX_FOLLOW_UP_ENVOYS);
  });

  it('counts the whole replica group against the cap: every replica asks its own Envoys at once', async () => {
    const fleet = [connect('envoy-a'), connect('envoy-b')];
    await Promise.all(fleet.map((e) => e.nextResponse()));
    await waitForLoad(lrs, (s) => s.connectedEnvoys === 2);
    expect(lrs.followUp(400, MAX_FOLLOW_UP_ENVOYS + 1)).toBe(0);
    expect(lrs.followUp(400, MAX_FOLLOW_UP_ENVOYS)).toBe(2);
  });

  it('asks for no report shorter than the windows it accepts (lrs.limits.min_report_interval_ms)', async () => {
    const strict = createLrsService({
      clock: time,
      scheduler: time,
      logger: silentLogger,
      clusters: () => services,
      intervalMs: 1000,
      limits: { ...DEFAULT_REPORT_LIMITS, minWindowMs: 600 },
    });
    const { server: strictServer, client: strictClient } = await serve(strict);
    try {
      const envoy = new ReportingEnvoy(strictClient.StreamLoadStats());
      envoy.call.write({ node: { id: 'envoy-a', cluster: 'edge' } });
      await envoy.nextResponse();
      // A 500 ms report would be refused as absurd: not asked for. 700 ms is.
      expect(strict.followUp(500)).toBe(0);
      expect(strict.followUp(700)).toBe(1);
      expect((await envoy.nextResponse()).load_reporting_interval).toEqual({ seconds: '0', nanos: 700_000_000 });
    } finally {
      strict.close();
      strictClient.close();
      strictServer.forceShutdown();
    }
  });
});
