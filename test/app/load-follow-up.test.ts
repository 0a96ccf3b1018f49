// The second look at demand, wired end to end: a load report that rose makes the controller's
// decision ask the LRS server, which tells the reporting Envoy (here a gRPC client speaking LRS) to
// send its next report sooner (FOLLOW_UP_AFTER_MS), then the usual interval again. In one Spillway, and in a group of
// two replicas on a real etcd with the Envoy on the follower (the leader decides, the follower asks).
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { startSpillway, type SpillwayApp } from '../../src/app/spillway-app.js';
import { FOLLOW_UP_AFTER_MS } from '../../src/capacity/default-policy.js';
import type { LoadStatsRequest } from '../../src/generated/envoy/service/load_stats/v3/LoadStatsRequest.js';
import type { LoadStatsResponse__Output } from '../../src/generated/envoy/service/load_stats/v3/LoadStatsResponse.js';
import { IN_HOUSE_LOCALITY } from '../../src/model/localities.js';
import { loadProtos } from '../../src/protos/load-protos.js';
import { configFrom, FREE_PORTS } from '../../tools/config-fixtures.js';
import { startEtcd, type EtcdHandle } from '../../tools/etcd/etcd-process.js';
import { startFakeModal, type FakeModal } from '../../tools/fake-modal/start-fake-modal.js';
import { waitFor } from '../../tools/wait-for.js';

const credentials = { tokenId: 'ak-spillwayfollow', tokenSecret: 'as-spillwayfollowsecret' };

/** One second of in-house traffic at `rps` (Envoy's report shape). */
const report = (rps: number): LoadStatsRequest => ({
  cluster_stats: [
    {
      cluster_name: 'echo',
      upstream_locality_stats: [
        { locality: IN_HOUSE_LOCALITY, total_issued_requests: rps, total_successful_requests: rps, total_requests_in_progress: 0 },
      ],
      load_report_interval: { seconds: 1, nanos: 0 },
      total_dropped_requests: 0,
    },
  ],
});

/** One service, 12 slots at 100 ms: 120 rps flat out, target 96. */
function serviceConfig(listenerPort: number): Record<string, unknown> {
  return {
    ...FREE_PORTS,
    controller: { tick_ms: 200 },
    lrs: { interval_ms: 1000 },
    services: [
      {
        name: 'echo',
        listener: `127.0.0.1:${listenerPort}`,
        in_house: { endpoints: [{ address: '10.0.0.1', port: 80, capacity: 12 }] },
        modal: {
          url: 'https://ws--echo.modal.run',
          connect_address: '192.0.2.1',
          app: 'spillway-follow',
          function: 'echo',
          max_containers: 4,
        },
        capacity: { policy: 'default' },
      },
    ],
  };
}

/**
 * An Envoy's LRS stream to `xdsPort`: steady reports of 30 rps, then one of 60 rps (30 over the
 * previous, ±11 of noise between them); the instructions it received come back.
 */
async function reportARise(xdsPort: number): Promise<LoadStatsResponse__Output[]> {
  const Client = loadProtos().protos.envoy.service.load_stats.v3.LoadReportingService;
  const client = new Client(`127.0.0.1:${xdsPort}`, grpc.credentials.createInsecure());
  const call = client.StreamLoadStats();
  const received: LoadStatsResponse__Output[] = [];
  call.on('data', (r: LoadStatsResponse__Output) => received.push(r));
  call.on('error', () => {});
  try {
    call.write({ node: { id: 'envoy-follow', cluster: 'edge' } });
    await waitFor(() => received.length === 1, 5_000, 'the first instruction');
    expect(received[0]!.load_reporting_interval).toEqual({ seconds: '1', nanos: 0 });
    // Steady 30 rps for a few reports: nothing asked.
    for (let i = 0; i < 4; i++) {
      call.write(report(30));
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(received).toHaveLength(1);
    call.write(report(60));
    await waitFor(() => received.length === 2, 3_000, 'an early-report instruction');
    expect(received[1]!.load_reporting_interval).toEqual({ seconds: '0', nanos: FOLLOW_UP_AFTER_MS * 1_000_000 });
    // The early report comes: the usual interval again.
    call.write(report(62));
    await waitFor(() => received.length === 3, 3_000, 'the usual interval again');
    expect(received[2]!.load_reporting_interval).toEqual({ seconds: '1', nanos: 0 });
    return received;
  } finally {
    call.end();
    client.close();
  }
}

describe('a second look at demand, through the app', () => {
  const apps: SpillwayApp[] = [];
  let fake: FakeModal | undefined;
  let etcd: EtcdHandle | undefined;
  afterEach(async () => {
    for (const app of apps.splice(0).reverse()) await app.stop();
    await fake?.close();
    await etcd?.close();
    etcd = undefined;
  });

  it('a report that rose brings an early-report instruction to the reporting Envoy, then the usual interval', async () => {
    fake = await startFakeModal({ credentials, functions: [{ appName: 'spillway-follow', functionName: 'echo' }] });
    const app = await startSpillway(configFrom(serviceConfig(20031)), {
      modalSdk: { credentials, serverUrl: fake.controlUrl },
      warmUp: false,
    });
    apps.push(app);
    await reportARise(app.xdsPort);
  });

  // Hosts' clocks differ: a follower's report must count on the leader whatever the follower's
  // clock says (reports count for 3 LRS intervals), and the leader's ask must reach the follower's
  // Envoy whatever the leader's clock says (the ask waits 400 ms).
  it.each([
    ['the same clock', 0],
    ['its clock 5 s behind the leader’s', -5_000],
    ['its clock 5 s ahead of the leader’s', 5_000],
  ])('replicas: the leader decides on a follower’s report, and the follower asks its Envoy (follower with %s)', async (_, skewMs) => {
    fake = await startFakeModal({ credentials, functions: [{ appName: 'spillway-follow', functionName: 'echo' }] });
    etcd = await startEtcd();
    for (const [i, port] of [20032, 20033].entries()) {
      const ha = { etcd: { endpoints: [etcd.url] }, prefix: '/spillway/follow-up', lease_ttl_s: 5, replica_id: `replica-${i + 1}` };
      const app = await startSpillway(configFrom({ ...serviceConfig(port), ha }), {
        modalSdk: { credentials, serverUrl: fake.controlUrl },
        warmUp: false,
        ...(i === 1 ? { clock: { nowMs: () => Date.now() + skewMs } } : {}),
      });
      apps.push(app);
      if (i === 0) await waitFor(() => app.replica?.status().isLeader, 20_000, 'the first replica to lead');
    }
    const [leader, follower] = apps as [SpillwayApp, SpillwayApp];
    expect(follower.replica?.status().isLeader).toBe(false);
    const received = await reportARise(follower.xdsPort);
    expect(received).toHaveLength(3);
    // The ask came through the group: the leader has no Envoy of its own.
    expect(leader.lrs.view.snapshot().connectedEnvoys).toBe(0);
  });
});
