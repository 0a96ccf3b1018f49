import { describe, expect, it } from 'vitest';
import { fanoutConfig } from '../../bench/fanout/fanout-config.js';
import { startSpillway } from '../../src/app/spillway-app.js';
import { systemClock } from '../../src/core/clock.js';
import { warmUpPushPath } from '../../src/control/warm-up.js';
import { loadProtos } from '../../src/protos/load-protos.js';
import { withPreEncodedResponses } from '../../src/xds/response-bodies.js';

describe('push-path warm-up', () => {
  it('syncs simulated SotW and delta streams on all four types and gets every push ACKed by each', async () => {
    const protos = loadProtos().protos;
    const service = withPreEncodedResponses(protos.envoy.service.discovery.v3.AggregatedDiscoveryService.service);
    const r = await warmUpPushPath({ services: fanoutConfig(3).services, protos, service, clock: systemClock, streams: 7, pushes: 5 });
    // 14 streams × (CDS + EDS + LDS + RDS on connect, then one EDS ACK per push).
    expect(r).toMatchObject({ streams: 14, pushes: 5, acks: 14 * (4 + 5) });
  });

  it('leaves nothing behind in the server Envoys connect to', async () => {
    const app = await startSpillway(fanoutConfig(2));
    try {
      expect(app.ads.connectedStreams()).toBe(0);
      expect(app.syncStatus.snapshot().rows).toEqual([]);
      expect(app.publisher.stats.published).toBe(1);
    } finally {
      await app.stop();
    }
  });
});
