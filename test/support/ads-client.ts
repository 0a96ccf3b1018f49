import * as grpc from '@grpc/grpc-js';
import type { DiscoveryRequest } from '../../src/generated/envoy/service/discovery/v3/DiscoveryRequest.js';
import type { DiscoveryResponse__Output } from '../../src/generated/envoy/service/discovery/v3/DiscoveryResponse.js';
import { loadProtos } from '../../src/protos/load-protos.js';

/** A bare ADS client for protocol tests: sends exactly what the test says, records every response. */
export class AdsTestClient {
  readonly responses: DiscoveryResponse__Output[] = [];
  status: grpc.StatusObject | undefined;
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse__Output>;
  private waiters: Array<() => void> = [];

  constructor(address: string) {
    const { protos } = loadProtos();
    const Ads = protos.envoy.service.discovery.v3.AggregatedDiscoveryService;
    const client = new Ads(address, grpc.credentials.createInsecure());
    this.client = client;
    this.call = client.StreamAggregatedResources();
    this.call.on('data', (r: DiscoveryResponse__Output) => {
      this.responses.push(r);
      this.wake();
    });
    this.call.on('status', (s: grpc.StatusObject) => {
      this.status = s;
      this.wake();
    });
    this.call.on('error', () => {});
  }

  send(req: DiscoveryRequest): void {
    this.call.write(req);
  }

  /** Waits for the n-th response (1-based) overall, or of a type. */
  async waitForResponses(n: number, typeUrl?: string, timeoutMs = 3000): Promise<DiscoveryResponse__Output[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = typeUrl ? this.responses.filter((r) => r.type_url === typeUrl) : this.responses;
      if (got.length >= n) return got;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} responses${typeUrl ? ` of ${typeUrl}` : ''}; have ${got.length}`);
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
