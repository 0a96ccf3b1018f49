// The second look at demand, wired end to end in one Spillway: a load report that rose makes the
// controller's decision ask the LRS server, which tells the reporting Envoy (here a gRPC client
// speaking LRS) to send its next report in 500 ms, then the usual interval again.
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { startSpillway, type SpillwayApp } from '../../src/app/spillway-app.js';
import type { LoadStatsRequest } from '../../src/generated/envoy/service/load_stats/v3/LoadStatsRequest.js';
import type { LoadStatsResponse__Output } from '../../src/generated/envoy/service/load_stats/v3/LoadStatsResponse.js';
import { IN_HOUSE_LOCALITY } from '../../src/model/localities.js';
import { loadProtos } from '../../src/protos/load-protos.js';
import { configFrom, FREE_PORTS } from '../../tools/config-fixtures.js';
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

describe('a second look at demand, through the app', () => {
  let app: SpillwayApp | undefined;
  let fake: FakeModal | undefined;
  afterEach(async () => {
    await app?.stop();
    await fake?.close();
  });

  it('a report that rose brings an early-report instruction to the reporting Envoy, then the usual interval', async () => {
    fake = await startFakeModal({ credentials, functions: [{ appName: 'spillway-follow', functionName: 'echo' }] });
    const config = configFrom({
      ...FREE_PORTS,
      controller: { tick_ms: 200 },
      lrs: { interval_ms: 1000 },
      services: [
        {
          name: 'echo',
          listener: '127.0.0.1:20031',
          // 12 slots at 100 ms: 120 rps flat out, target 96.
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
    });
    app = await startSpillway(config, { modalSdk: { credentials, serverUrl: fake.controlUrl }, warmUp: false });
    const Client = loadProtos().protos.envoy.service.load_stats.v3.LoadReportingService;
    const client = new Client(`127.0.0.1:${app.xdsPort}`, grpc.credentials.createInsecure());
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
      // A report of 60 rps: 30 rps over the previous one, ±11 of noise between them.
      call.write(report(60));
      await waitFor(() => received.length === 2, 3_000, 'an early-report instruction');
      expect(received[1]!.load_reporting_interval).toEqual({ seconds: '0', nanos: 500_000_000 });
      // The early report comes: the usual interval again.
      call.write(report(62));
      await waitFor(() => received.length === 3, 3_000, 'the usual interval again');
      expect(received[2]!.load_reporting_interval).toEqual({ seconds: '1', nanos: 0 });
    } finally {
      call.end();
      client.close();
    }
  });
});
