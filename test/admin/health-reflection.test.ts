import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { healthStatuses } from '../../src/admin/health-service.js';
import type { HealthCheckResponse__Output } from '../../src/generated/grpc/health/v1/HealthCheckResponse.js';
import type { ModalApi, RawFunctionStats } from '../../src/modal/types.js';
import { VirtualTime } from '../support/virtual-time.js';
import { rawConfig, startAdminRig, unary, type AdminRig } from './harness.js';

describe('health (pure)', () => {
  const svc = (over: Partial<Parameters<typeof healthStatuses>[0]['services'][number]> = {}) => ({
    name: 'echo',
    controlled: true,
    mode: 'spilling' as const,
    modalStatsAgeMs: 1000,
    ...over,
  });
  const run = (services: ReturnType<typeof svc>[], consistentSnapshot = true) =>
    Object.fromEntries(healthStatuses({ consistentSnapshot, services, maxInputAgeMs: 5000 }));

  it('a controlled service is SERVING only with a decision from fresh Modal stats', () => {
    expect(run([svc()])).toEqual({ echo: 'SERVING', '': 'SERVING' });
    expect(run([svc({ mode: undefined })]).echo).toBe('NOT_SERVING');
    expect(run([svc({ modalStatsAgeMs: undefined })]).echo).toBe('NOT_SERVING');
    expect(run([svc({ modalStatsAgeMs: 6000 })]).echo).toBe('NOT_SERVING');
    expect(run([svc({ mode: 'fail-safe' })]).echo).toBe('NOT_SERVING');
  });
  it('static services only need the snapshot', () => {
    const plain = svc({ name: 'plain', controlled: false, mode: undefined, modalStatsAgeMs: undefined });
    expect(run([plain])).toEqual({ plain: 'SERVING', '': 'SERVING' });
    expect(run([plain], false)).toEqual({ plain: 'NOT_SERVING', '': 'NOT_SERVING' });
  });
  it('the overall name means "serving xDS from a consistent snapshot", whatever Modal is doing', () => {
    // A Modal outage (stale stats, fail-safe, nothing decided yet) must not pull Spillway out of a load balancer.
    const blind = [svc({ mode: 'fail-safe', modalStatsAgeMs: undefined }), svc({ name: 'other', mode: undefined })];
    expect(run(blind)).toEqual({ echo: 'NOT_SERVING', other: 'NOT_SERVING', '': 'SERVING' });
    expect(run(blind, false)['']).toBe('NOT_SERVING');
  });
});

/** A Modal API stub whose stats calls fail until `ready` is set. */
function stubModal(): { api: ModalApi; ready: boolean } {
  const s = {
    ready: false,
    api: {
      lookup: async (ref) => ({
        ref,
        functionId: 'fu-1',
        currentStats: async (): Promise<RawFunctionStats> => {
          if (!s.ready) throw new Error('stats unavailable');
          return { backlog: 0, numTotalRunners: 0, numRunningInputs: 0, inputHeadroom: 0 };
        },
        updateAutoscaler: async (x) => x,
      }),
      close: () => {},
    } satisfies ModalApi,
  };
  return s;
}

describe('health and reflection over gRPC', () => {
  let rig: AdminRig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  const check = async (r: AdminRig, service: string): Promise<string | undefined> => {
    const { res, err } = await unary<object, HealthCheckResponse__Output>(r.health.Check.bind(r.health), { service });
    return res?.status ?? (err ? `error ${err.code}` : undefined);
  };

  it('static services are SERVING from the first snapshot; an unknown name is NOT_FOUND', async () => {
    rig = await startAdminRig();
    expect(await check(rig, '')).toBe('SERVING');
    expect(await check(rig, 'echo')).toBe('SERVING');
    expect(await check(rig, 'plain')).toBe('SERVING');
    expect(await check(rig, 'nope')).toBe(`error ${grpc.status.NOT_FOUND}`);
  });

  it('a controller-driven service is NOT_SERVING until its inputs are fresh, then SERVING (Check and Watch)', async () => {
    const vt = new VirtualTime();
    const modal = stubModal();
    const raw = rawConfig({ modal_api: { poll_interval_ms: 1000, timeout_ms: 500 }, controller: { tick_ms: 500 } });
    const echo = (raw['services'] as Array<Record<string, unknown>>)[0]!;
    echo['capacity'] = { policy: 'default' };
    rig = await startAdminRig({ raw, deps: { clock: vt, scheduler: vt, modalApi: modal.api } });
    expect(await check(rig, 'echo')).toBe('NOT_SERVING');
    // Readiness and liveness: xDS is served from a consistent snapshot, Modal or not.
    expect(await check(rig, '')).toBe('SERVING');
    expect(await check(rig, 'plain')).toBe('SERVING');

    const seen: string[] = [];
    const call = rig.health.Watch({ service: 'echo' });
    call.on('data', (r: HealthCheckResponse__Output) => seen.push(r.status));
    call.on('error', () => {});
    try {
      await vt.advance(3000);
      expect(await check(rig, 'echo')).toBe('NOT_SERVING');
      modal.ready = true;
      // The failed polls backed off with full jitter under a ceiling of up to 30 s (stats-poller.ts):
      // the next poll may be that far away in virtual time.
      for (let i = 0; i < 40 && (await check(rig, 'echo')) !== 'SERVING'; i++) await vt.advance(1000);
      expect(await check(rig, 'echo')).toBe('SERVING');
      expect(await check(rig, '')).toBe('SERVING');
      await new Promise((r) => setTimeout(r, 50));
      expect(seen[0]).toBe('NOT_SERVING');
      expect(seen.at(-1)).toBe('SERVING');
    } finally {
      call.cancel();
    }
  });

  it('server reflection lists exactly the admin, CSDS and health services and describes them', async () => {
    rig = await startAdminRig();
    const require = createRequire(import.meta.url);
    const protoDir = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto');
    const def = protoLoader.loadSync('grpc/reflection/v1/reflection.proto', { includeDirs: [protoDir], keepCase: true, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      grpc: {
        reflection: {
          v1: {
            ServerReflection: new (
              addr: string,
              creds: grpc.ChannelCredentials,
            ) => grpc.Client & { ServerReflectionInfo(): grpc.ClientDuplexStream<object, ReflectionResponse> };
          };
        };
      };
    };
    interface ReflectionResponse {
      list_services_response?: { service: Array<{ name: string }> };
      file_descriptor_response?: { file_descriptor_proto: Buffer[] };
    }
    const client = new pkg.grpc.reflection.v1.ServerReflection(`127.0.0.1:${rig.app.adminPort}`, grpc.credentials.createInsecure());
    const ask = (req: object): Promise<ReflectionResponse> =>
      new Promise((resolve, reject) => {
        const call = client.ServerReflectionInfo();
        call.on('data', (r: ReflectionResponse) => {
          resolve(r);
          call.end();
        });
        call.on('error', reject);
        call.write(req);
      });
    try {
      const list = await ask({ list_services: '' });
      const names = list.list_services_response!.service.map((s) => s.name);
      // Exactly what the port serves: CSDS brings Envoy's messages, never another Envoy service.
      expect(names.filter((n) => !n.startsWith('grpc.reflection.')).sort()).toEqual(
        ['envoy.service.status.v3.ClientStatusDiscoveryService', 'grpc.health.v1.Health', 'spillway.admin.v1.Admin'].sort(),
      );
      const csds = await ask({ file_containing_symbol: 'envoy.service.status.v3.ClientStatusDiscoveryService' });
      expect(Buffer.concat(csds.file_descriptor_response!.file_descriptor_proto).toString('latin1')).toContain('FetchClientStatus');
      const desc = await ask({ file_containing_symbol: 'spillway.admin.v1.Admin' });
      const text = Buffer.concat(desc.file_descriptor_response!.file_descriptor_proto).toString('latin1');
      expect(text).toContain('WatchWeights');
      // The file comes with its dependency (Duration), so grpcurl can describe and build requests.
      expect(desc.file_descriptor_response!.file_descriptor_proto.length).toBeGreaterThanOrEqual(2);
      expect(text).toContain('google.protobuf');
    } finally {
      client.close();
    }
  });
});
