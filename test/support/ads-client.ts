import * as grpc from '@grpc/grpc-js';
import type { DeltaDiscoveryRequest } from '../../src/generated/envoy/service/discovery/v3/DeltaDiscoveryRequest.js';
import type { DeltaDiscoveryResponse__Output } from '../../src/generated/envoy/service/discovery/v3/DeltaDiscoveryResponse.js';
import type { DiscoveryRequest } from '../../src/generated/envoy/service/discovery/v3/DiscoveryRequest.js';
import type { DiscoveryResponse__Output } from '../../src/generated/envoy/service/discovery/v3/DiscoveryResponse.js';
import { loadProtos } from '../../src/protos/load-protos.js';

/**
 * A bare ADS client for protocol tests, SotW or delta: sends exactly what the test says and
 * records every response and the final status.
 */
class AdsStreamRecorder<Req, Resp extends { type_url: string }> {
  readonly responses: Resp[] = [];
  status: grpc.StatusObject | undefined;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly client: grpc.Client,
    private readonly call: grpc.ClientDuplexStream<Req, Resp>,
  ) {
    call.on('data', (r: Resp) => {
      this.responses.push(r);
      this.wake();
    });
    call.on('status', (s: grpc.StatusObject) => {
      this.status = s;
      this.wake();
    });
    call.on('error', () => {});
  }

  send(req: Req): void {
    this.call.write(req);
  }

  /** Responses so far, of one type or all. */
  of(typeUrl?: string): Resp[] {
    return typeUrl ? this.responses.filter((r) => r.type_url === typeUrl) : this.responses;
  }

  /** Waits for the n-th response (1-based) overall, or of a type. */
  async waitForResponses(n: number, typeUrl?: string, timeoutMs = 3000): Promise<Resp[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = this.of(typeUrl);
      if (got.length >= n) return got;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${n} responses${typeUrl ? ` of ${typeUrl}` : ''}; have ${got.length}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async waitForStatus(timeoutMs = 3000): Promise<grpc.StatusObject> {
    const deadline = Date.now() + timeoutMs;
    while (!this.status) {
      if (Date.now() > deadline) throw new Error('timed out waiting for stream status');
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.status;
  }

  /** Lets in-flight responses arrive, then returns how many came (to assert that none did). */
  async settle(ms = 200): Promise<number> {
    await new Promise((r) => setTimeout(r, ms));
    return this.responses.length;
  }

  close(): void {
    this.call.end();
    this.client.close();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

function adsClient(address: string) {
  const Ads = loadProtos().protos.envoy.service.discovery.v3.AggregatedDiscoveryService;
  return new Ads(address, grpc.credentials.createInsecure());
}

/** State-of-the-world ADS (StreamAggregatedResources). */
export class AdsTestClient extends AdsStreamRecorder<DiscoveryRequest, DiscoveryResponse__Output> {
  constructor(address: string) {
    const client = adsClient(address);
    super(client, client.StreamAggregatedResources());
  }
}

/** Incremental ADS (DeltaAggregatedResources). */
export class DeltaAdsTestClient extends AdsStreamRecorder<DeltaDiscoveryRequest, DeltaDiscoveryResponse__Output> {
  constructor(address: string) {
    const client = adsClient(address);
    super(client, client.DeltaAggregatedResources());
  }
}
