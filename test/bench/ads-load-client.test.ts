import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AdsLoadClient, type Protocol } from '../../bench/fanout/ads-load-client.js';
import { fanoutConfig } from '../../bench/fanout/fanout-config.js';
import { startSpillway, type SpillwayApp } from '../../src/app/spillway-app.js';
import { planForShare } from '../../src/model/traffic-plan.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import { freePort } from '../../tools/ports.js';

// Correctness of the load tool, not timing: every simulated Envoy syncs all four types and sees a
// weight change. Streams are spread over several connections to cover channel handling too.
describe.each<Protocol>(['sotw', 'delta'])('fan-out load client (%s)', (protocol) => {
  let app: SpillwayApp;
  let client: AdsLoadClient | undefined;
  beforeEach(async () => {
    app = await startSpillway(fanoutConfig(3));
  });
  afterEach(async () => {
    client?.close();
    await app.stop();
  });

  it('20 streams sync CDS → EDS → LDS → RDS and all ACK a weight change', async () => {
    client = new AdsLoadClient({ target: `127.0.0.1:${app.xdsPort}`, streams: 20, protocol, streamsPerChannel: 7, openPerSecond: 400 });
    await client.open();
    await client.waitSynced(20_000);
    expect(client.stats()).toMatchObject({ opened: 20, synced: 20, ended: 0 });
    expect(app.ads.connectedStreams()).toBe(20);
    // Every node becomes SYNCED for every type in Spillway's own view (the last ACKs may still be in flight).
    const synced = (): number => app.syncStatus.snapshot().rows.filter((r) => r.nodeId.startsWith('load-') && r.status === 'SYNCED').length;
    await expect.poll(synced, { timeout: 5_000 }).toBe(20 * 4);

    const acks: string[] = [];
    app.events.on((e) => {
      if (e.kind === 'ack' && e.typeUrl === TypeUrl.Endpoint) acks.push(e.nodeId);
    });
    expect(app.publisher.setPlan('svc-01', planForShare(0.37)).changed.has(TypeUrl.Endpoint)).toBe(true);
    const version = app.cache.current()!.types[TypeUrl.Endpoint].version;
    await client.waitEdsVersion(version, 20_000);
    const records = client.edsRecords(version);
    expect(records.every((r) => r !== undefined && r.ackedAtMs >= r.receivedAtMs && r.bytes > 0)).toBe(true);
    await expect.poll(() => new Set(acks).size, { timeout: 5_000 }).toBe(20);
  });
});

describe('fan-out load client against nothing', () => {
  it('fails fast, naming the transport error, when no server listens', async () => {
    const port = await freePort();
    const client = new AdsLoadClient({ target: `127.0.0.1:${port}`, streams: 3, protocol: 'sotw', streamsPerChannel: 2 });
    try {
      await client.open();
      await expect(client.waitSynced(20_000)).rejects.toThrow(/ended before syncing: .*ECONNREFUSED/);
    } finally {
      client.close();
    }
  });
});
