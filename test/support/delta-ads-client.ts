import * as grpc from '@grpc/grpc-js';
import type { DeltaDiscoveryRequest } from '../../src/generated/envoy/service/discovery/v3/DeltaDiscoveryRequest.js';
import type { DeltaDiscoveryResponse__Output } from '../../src/generated/envoy/service/discovery/v3/DeltaDiscoveryResponse.js';
import { loadProtos } from '../../src/protos/load-protos.js';

/** A bare delta ADS client for protocol tests: sends exactly what the test says, records every response. */
export class DeltaAdsTestClient {
  readonly responses: DeltaDiscoveryResponse__Output[] = [];
  status: grpc.StatusObject | undefined;
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse__Output>;
  private waiters: Array<() => void> = [];

  constructor(address: string) {
    const { protos } = loadProtos();
    const Ads = protos.envoy.service.discovery.v3.AggregatedDiscoveryService;
    const client = new Ads(address, grpc.credentials.createInsecure());
    this.client = client;
    this.call = client.DeltaAggregatedResources();
    this.call.on('data', (r: DeltaDiscoveryResponse__Output) => {
      this.responses.push(r);
      this.wake();
    });
    this.call.on('status', (s: grpc.StatusObject) => {
      this.status = s;
      this.wake();
    });
    this.call.on('error', () => {});
  }

  send(req: DeltaDiscoveryRequest): void {
    this.call.write(req);
  }

  /** Responses so far, of one type or all. */
  of(typeUrl?: string): DeltaDiscoveryResponse__Output[] {
    return typeUrl ? this.responses.filter((r) => r.type_url === typeUrl) : this.responses;
  }

  /** Waits for the n-th response (1-based) overall, or of a type. */
  async waitForResponses(n: number, typeUrl?: string, timeoutMs = 3000): Promise<DeltaDiscoveryResponse__Output[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = this.of(typeUrl);
      if (got.length >= n) return got;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} delta responses${typeUrl ? ` of ${typeUrl}` : ''}; have ${got.length}`);
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
