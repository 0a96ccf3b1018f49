import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planForShare } from '../../src/model/traffic-plan.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import { AdsTestClient } from '../support/ads-client.js';
import { seriesValue as series } from '../support/prometheus.js';
import { startAdminRig, type AdminRig } from '../admin/harness.js';

const node = { id: 'metrics-node', cluster: 'test' };

describe('Prometheus /metrics', () => {
  let rig: AdminRig;
  let ads: AdsTestClient;
  beforeEach(async () => {
    rig = await startAdminRig();
    ads = new AdsTestClient(`127.0.0.1:${rig.app.xdsPort}`);
  });
  afterEach(async () => {
    ads.close();
    await rig.close();
  });
  const scrape = async (): Promise<string> => {
    const res = await fetch(`http://127.0.0.1:${rig.app.metricsPort}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return res.text();
  };

  it('exposes shares, weights, pushes/ACKs/NACKs by type, streams, publish-to-ACK latency and process metrics after xDS activity', async () => {
    ads.send({ node, type_url: TypeUrl.Cluster });
    const [cds] = await ads.waitForResponses(1, TypeUrl.Cluster);
    ads.send({ node, type_url: TypeUrl.Cluster, version_info: cds!.version_info, response_nonce: cds!.nonce });
    ads.send({ node, type_url: TypeUrl.Endpoint, resource_names: ['echo', 'plain'] });
    const [eds] = await ads.waitForResponses(1, TypeUrl.Endpoint);
    // Envoy refuses this EDS version.
    ads.send({
      node,
      type_url: TypeUrl.Endpoint,
      resource_names: ['echo', 'plain'],
      response_nonce: eds!.nonce,
      error_detail: { code: 3, message: 'bad weight' },
    });
    await new Promise((r) => setTimeout(r, 100));

    const text = await scrape();
    expect(series(text, 'spillway_share_ratio{service="echo",tier="modal"}')).toBeCloseTo(0.2);
    expect(series(text, 'spillway_share_ratio{service="echo",tier="in-house"}')).toBeCloseTo(0.8);
    expect(series(text, 'spillway_locality_weight{service="echo",locality="modal"}')).toBe(200);
    expect(series(text, 'spillway_mode{service="echo",mode="static"}')).toBe(1);
    expect(series(text, 'spillway_in_house_capacity{service="echo"}')).toBe(8);
    expect(series(text, 'spillway_in_house_utilization_ratio{service="echo"}')).toBe(0);
    expect(series(text, 'spillway_offered_demand_rps{service="echo"}')).toBe(0);
    expect(series(text, 'spillway_xds_pushes_total{type="CDS"}')).toBe(1);
    expect(series(text, 'spillway_xds_pushes_total{type="EDS"}')).toBe(1);
    expect(series(text, 'spillway_xds_acks_total{type="CDS"}')).toBe(1);
    expect(series(text, 'spillway_xds_nacks_total{type="EDS"}')).toBe(1);
    expect(series(text, 'spillway_xds_connected_streams{protocol="sotw"}')).toBe(1);
    expect(series(text, 'spillway_xds_connected_streams{protocol="delta"}')).toBe(0);
    expect(series(text, 'spillway_xds_streams_by_type{type="CDS"}')).toBe(1);
    expect(series(text, 'spillway_xds_sync_status{type="EDS",status="ERROR"}')).toBe(1);
    // The rejected EDS has kept the node out of sync since it connected; its CDS is in sync, and
    // RDS, never asked for, does not count.
    expect(series(text, 'spillway_xds_out_of_sync_seconds{type="EDS"}')).toBeGreaterThanOrEqual(0.1);
    expect(series(text, 'spillway_xds_out_of_sync_seconds{type="CDS"}')).toBe(0);
    expect(series(text, 'spillway_xds_out_of_sync_seconds{type="RDS"}')).toBe(0);
    expect(series(text, 'spillway_xds_publish_to_ack_seconds_count{type="CDS"}')).toBe(1);
    expect(text).toContain('spillway_xds_publish_to_ack_seconds_bucket{le="0.005",type="CDS"}');
    expect(series(text, 'spillway_lrs_connected_envoys')).toBe(0);
    expect(series(text, 'spillway_snapshot_publishes_total')).toBe(1);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);

    // One log line per NACK, with a component.
    const nackLogs = rig.logs.filter((l) => typeof l['msg'] === 'string' && (l['msg'] as string).includes('NACK'));
    expect(nackLogs).toHaveLength(1);
    expect(nackLogs[0]!['component']).toBeTruthy();
  });

  it('gauges follow the published plan and overrides at the next scrape', async () => {
    rig.app.publisher.setPlan('echo', planForShare(0.45));
    let text = await scrape();
    expect(series(text, 'spillway_locality_weight{service="echo",locality="modal"}')).toBe(450);
    expect(series(text, 'spillway_override_active{service="echo"}')).toBe(0);
    rig.app.router.override('echo', 0.05, 60_000, 'test');
    text = await scrape();
    expect(series(text, 'spillway_locality_weight{service="echo",locality="modal"}')).toBe(50);
    expect(series(text, 'spillway_override_active{service="echo"}')).toBe(1);
    expect(series(text, 'spillway_mode{service="echo",mode="override"}')).toBe(1);
    expect(series(text, 'spillway_mode{service="echo",mode="static"}')).toBeUndefined();
  });

  it('anything but GET /metrics is 404/405', async () => {
    expect((await fetch(`http://127.0.0.1:${rig.app.metricsPort}/`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${rig.app.metricsPort}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});
