// Three Spillway replicas (each `spillway serve`, as a user runs it) on a real etcd, two real Envoys
// attached to different replicas, the fake Modal behind the official SDK, and load through both
// Envoys. One topology, scenarios in order: the group decides from the sum of both Envoys' load and
// every replica serves the same resources; an operator action through one replica reaches the Envoy
// of another; kill -9 of the leader; a frozen leader cannot act when it wakes; etcd down for 20 s.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Etcd3, type IKeyValue } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson, dumpSection } from '../../tools/envoy/config-dump.js';
import { startEnvoy, type EnvoyHandle } from '../../tools/envoy/envoy-process.js';
import { startEtcd, type EtcdHandle } from '../../tools/etcd/etcd-process.js';
import { startFakeModal, type FakeModal } from '../../tools/fake-modal/start-fake-modal.js';
import { freePort } from '../../tools/ports.js';
import { startReplicaGroup, type ReplicaGroup, type ReplicaProcess } from '../../tools/replicas/replica-group.js';
import { waitFor } from '../../tools/wait-for.js';
import type { HealthClient } from '../../src/generated/grpc/health/v1/Health.js';
import { loadAdminProtos } from '../../src/admin/admin-protos.js';
import { startHttpBackend, type BackendHandle } from '../../tools/backends/http-backend.js';
import { startSteadyLoad } from '../support/steady-load.js';

const MODAL_HOST = 'spillway-ha--echo.modal.run';
const TTL_S = 2;
/** Each Envoy's own load; the sum crosses the in-house target (2 × 4 slots / 200 ms × 0.8 = 32 rps), neither alone does. */
const PER_ENVOY_RPS = 28;
const TARGET_RPS = 32;

/** A static listener on `port` that routes through the service's dynamic route (RDS over ADS): load aimed at one Envoy. */
function directListener(port: number): (bootstrap: Record<string, any>) => void {
  return (bootstrap) => {
    bootstrap['static_resources'].listeners = [
      {
        name: 'direct',
        address: { socket_address: { address: '127.0.0.1', port_value: port } },
        filter_chains: [
          {
            filters: [
              {
                name: 'envoy.filters.network.http_connection_manager',
                typed_config: {
                  '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                  stat_prefix: 'direct',
                  rds: { route_config_name: 'echo', config_source: { ads: {}, resource_api_version: 'V3' } },
                  http_filters: [
                    {
                      name: 'envoy.filters.http.router',
                      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
                    },
                  ],
                },
              },
            ],
          },
        ],
      },
    ];
  };
}

interface Attached {
  envoy: EnvoyHandle;
  replica: ReplicaProcess;
  url: string;
}

/**
 * What an Envoy runs: the CDS, LDS and RDS version strings from its config dump, and the EDS version
 * it ACKed to its replica (a config dump carries no EDS version), with the assignment's content.
 */
async function running(e: Attached): Promise<string> {
  const dump = await e.envoy.configDump('?include_eds');
  const rds = dumpSection(dump, 'v3.RoutesConfigDump')?.['dynamic_route_configs']?.[0]?.['version_info'];
  const cla = dumpSection(dump, 'v3.EndpointsConfigDump')?.['dynamic_endpoint_configs']?.find(
    (c: { endpoint_config?: { cluster_name?: string } }) => c.endpoint_config?.cluster_name === 'echo',
  )?.['endpoint_config'];
  const node = (await e.replica.state()).envoys.find((n) => n.node_id === e.envoy.nodeId);
  const eds = node?.types.find((t) => t.xds_type === 'EDS');
  const versions = [
    dumpSection(dump, 'ClustersConfigDump')?.['version_info'],
    dumpSection(dump, 'ListenersConfigDump')?.['version_info'],
    rds,
    eds?.acked_version,
  ];
  if (versions.some((v) => !v) || eds?.status !== 'SYNCED') return `incomplete: ${JSON.stringify(versions)} ${eds?.status}`;
  // Canonical: Envoy prints the endpoint metadata maps in no fixed order.
  return `${versions.join(' ')} ${canonicalJson(cla)}`;
}

async function modalWeight(envoy: EnvoyHandle): Promise<number> {
  return (await envoy.localities('echo')).get('modal')?.weight ?? 0;
}

/** Waits until the Modal weight an Envoy runs has moved by at most `band` over the last 3 s (the controller settled). */
async function settled(e: Attached, band = 60): Promise<void> {
  const seen: Array<{ at: number; w: number }> = [];
  await waitFor(
    async () => {
      const now = Date.now();
      seen.push({ at: now, w: await modalWeight(e.envoy) });
      const recent = seen.filter((x) => x.at >= now - 3_000);
      const ws = recent.map((x) => x.w);
      return seen[0]!.at <= now - 3_000 && Math.min(...ws) > 0 && Math.max(...ws) - Math.min(...ws) <= band;
    },
    45_000,
    () => `a settled Modal share (last: ${JSON.stringify(seen.slice(-12).map((x) => x.w))})`,
    250,
  );
}

function unary<Res>(call: (md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) =>
    call(new grpc.Metadata(), (err, res) => (err || !res ? reject(err ?? new Error('empty')) : resolve(res))),
  );
}

describe('three replicas on etcd act as one control plane', () => {
  let etcd: EtcdHandle;
  let fake: FakeModal;
  let inHouse: BackendHandle[];
  let group: ReplicaGroup;
  let e1: Attached;
  let e2: Attached;
  let client: Etcd3;
  /** Every put of a leader-only key, as etcd saw them: which replica wrote it under which token. */
  const leaderWrites: Array<{ atMs: number; key: string; leader: string; epoch: bigint }> = [];
  let loads: Array<ReturnType<typeof startSteadyLoad>> = [];
  const healthClients: HealthClient[] = [];

  const tokenOf = (r: ReplicaProcess): string => `ak-${r.id}`;
  const updates = (): Array<{ atMs: number; tokenId: string; settings: Record<string, number | undefined> }> =>
    fake.state().autoscalerUpdates.map((u) => ({ atMs: u.atMs, tokenId: u.tokenId, settings: { ...u.settings } }));
  const leaderNow = async (from: ReplicaProcess): Promise<string> => (await from.state()).replication?.leader_id ?? '';
  const metric = async (r: ReplicaProcess, name: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${r.metricsPort}/metrics`)).text();
    return Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  };
  const health = (r: ReplicaProcess, service: string): Promise<string> => {
    const { protos } = loadAdminProtos();
    const h = new protos.grpc.health.v1.Health(`127.0.0.1:${r.adminPort}`, grpc.credentials.createInsecure());
    healthClients.push(h);
    return unary<{ status: string }>((md, cb) => h.Check({ service }, md, { deadline: Date.now() + 2000 }, cb)).then((r) => r.status);
  };

  beforeAll(async () => {
    etcd = await startEtcd();
    fake = await startFakeModal({
      functions: [{ appName: 'spillway-ha', functionName: 'echo', coldStartMs: 300, scaledownWindowMs: 4000 }],
      tlsNames: [MODAL_HOST],
    });
    inHouse = await Promise.all([startHttpBackend('inhouse-a'), startHttpBackend('inhouse-b')]);
    const listenerPort = await freePort();
    group = await startReplicaGroup({
      etcd,
      replicas: 3,
      leaseTtlS: TTL_S,
      env: { MODAL_SERVER_URL: fake.controlUrl, MODAL_TOKEN_SECRET: 'as-spillway-ha-test' },
      // Each replica its own Modal token id: the fake Modal tells who sent an autoscaler update.
      envOf: (i) => ({ MODAL_TOKEN_ID: `ak-replica-${i + 1}` }),
      config: {
        lrs: { interval_ms: 1000 },
        controller: { tick_ms: 250 },
        modal_api: { poll_interval_ms: 300, timeout_ms: 1000, reconcile_interval_ms: 1000, autoscaler_min_interval_ms: 1000 },
        services: [
          {
            name: 'echo',
            listener: `127.0.0.1:${listenerPort}`,
            in_house: { endpoints: inHouse.map((b) => ({ address: '127.0.0.1', port: b.port, capacity: 4 })) },
            modal: {
              url: `https://${MODAL_HOST}:${new URL(fake.httpsUrl).port}`,
              connect_address: '127.0.0.1',
              app: 'spillway-ha',
              function: 'echo',
              max_inputs: 4,
              max_containers: 10,
              ca_bundle: fake.caPath,
            },
            capacity: {
              policy: 'default',
              in_house_service_time_ms: 200,
              modal_service_time_ms: 220,
              stale_after_ms: 2000,
              fast_window_ms: 2000,
              slow_window_ms: 6000,
              cold_start_ms: 1000,
              drain_ms: 1500,
              drain_max_ms: 8000,
              prewarm: { enabled: true, horizon_ms: 5000, base_min_containers: 0, cooldown_ms: 6000 },
            },
          },
        ],
      },
    });
    const [r1, r2, r3] = group.replicas as [ReplicaProcess, ReplicaProcess, ReplicaProcess];
    // replica-1 first, so it leads; the Envoys attach to the two others.
    await r1.start();
    await waitFor(async () => (await leaderNow(r1)) === r1.id, 20_000, 'replica-1 to lead');
    await Promise.all([r2.start(), r3.start()]);
    client = new Etcd3({ hosts: etcd.url });
    const watcher = await client.namespace(`${group.prefix}/`).watch().prefix('').create();
    watcher.on('put', (kv: IKeyValue) => {
      const key = kv.key.toString();
      if (!/^(plans|controller|autoscaler|modal-address)\//.test(key)) return;
      const v = JSON.parse(kv.value.toString()) as { leader: string; epoch: string };
      leaderWrites.push({ atMs: Date.now(), key, leader: v.leader, epoch: BigInt(v.epoch) });
    });
    const attach = async (replica: ReplicaProcess, nodeId: string): Promise<Attached> => {
      const port = await freePort();
      const envoy = await startEnvoy({ xdsPort: replica.xdsPort, nodeId, patch: directListener(port) });
      return { envoy, replica, url: `http://127.0.0.1:${port}/work?ms=200` };
    };
    [e1, e2] = await Promise.all([attach(r2, 'envoy-ha-1'), attach(r3, 'envoy-ha-2')]);
    for (const e of [e1, e2])
      await waitFor(async () => (await fetch(e.url.replace('ms=200', 'ms=1'))).ok, 30_000, `traffic through ${e.envoy.nodeId}`);
  }, 180_000);

  afterAll(async () => {
    if (process.env['SPILLWAY_TEST_LOGS']) {
      mkdirSync(process.env['SPILLWAY_TEST_LOGS'], { recursive: true });
      for (const r of group?.replicas ?? []) writeFileSync(join(process.env['SPILLWAY_TEST_LOGS'], `${r.id}.log`), r.output());
    }
    await Promise.all(loads.map((l) => l.stop()));
    for (const h of healthClients) h.close();
    client?.close();
    await Promise.all([e1?.envoy.stop(), e2?.envoy.stop()]);
    await group?.close();
    await etcd?.close();
    await Promise.all((inHouse ?? []).map((b) => b.close()));
    await fake?.close();
  }, 60_000);

  it('decides from the sum of both Envoys’ load, and every replica serves the same resources and versions', async () => {
    loads = [startSteadyLoad(e1.url, PER_ENVOY_RPS), startSteadyLoad(e2.url, PER_ENVOY_RPS)];
    // The leader has no Envoy of its own: it spills only if it sees the others' load, and only the sum is over the target.
    await waitFor(
      async () => (await modalWeight(e1.envoy)) > 0 && (await modalWeight(e2.envoy)) > 0,
      30_000,
      'Modal locality in both Envoys',
    );
    // The leader's decision counts both Envoys: offered demand near their sum, well over one Envoy's share.
    const decision = await waitFor(
      async () => {
        const d = (await group.replicas[0]!.state()).services.find((s) => s.name === 'echo')?.decision;
        const offered = d?.inputs.find((i) => i.name === 'offered_rps')?.value ?? 0;
        return offered > 1.5 * PER_ENVOY_RPS ? d : undefined;
      },
      15_000,
      'the leader deciding from both Envoys’ load',
    );
    expect(['MODE_SPILLING', 'MODE_SHEDDING']).toContain(decision.decision_mode);
    expect(PER_ENVOY_RPS).toBeLessThan(TARGET_RPS);
    // Same plan, same resources, same version strings, on both Envoys and in every replica's state.
    let seen: string[] = [];
    await waitFor(
      async () => {
        seen = await Promise.all([running(e1), running(e2)]);
        return seen[0] === seen[1] && !seen[0]!.startsWith('incomplete');
      },
      10_000,
      () => `equal versions: ${seen.join(' vs ')}`,
    );
    const states = await Promise.all(group.replicas.map((r) => r.state()));
    const weights = states.map((s) => JSON.stringify(s.services[0]?.weights));
    expect(new Set(weights).size).toBe(1);
    expect(new Set(states.map((s) => s.replication?.leader_id))).toEqual(new Set(['replica-1']));
    expect(states.map((s) => s.replication?.degraded)).toEqual(['', '', '']);
    expect(await Promise.all(group.replicas.map((r) => metric(r, 'spillway_ha_leader')))).toEqual([1, 0, 0]);
  });

  it('kill -9 of the leader under load: a new leader within TTL + 1 s, no failed request, the Modal share holds, no second actuation', async () => {
    const [r1, r2, r3] = group.replicas as [ReplicaProcess, ReplicaProcess, ReplicaProcess];
    // The pre-warm has been applied by replica-1 (the leader so far), and the share has settled.
    await waitFor(
      () => updates().some((u) => u.tokenId === tokenOf(r1) && (u.settings['minContainers'] ?? 0) > 0),
      20_000,
      'a pre-warm sent by replica-1',
    );
    await settled(e1);
    for (const l of loads) l.reset();
    const weights: number[] = [];
    const sampling = (async () => {
      const end = Date.now() + 8_000;
      while (Date.now() < end) {
        weights.push(await modalWeight(e1.envoy));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await new Promise((r) => setTimeout(r, 1_500));
    const weightAtKill = await modalWeight(e1.envoy);
    const before = updates().length;
    const killedAt = Date.now();
    r1.signal('SIGKILL');
    const newLeader = await waitFor(
      async () => {
        const l = await leaderNow(r2);
        return l && l !== r1.id ? l : undefined;
      },
      10_000,
      'a new leader',
      25,
    );
    const failoverMs = Date.now() - killedAt;
    await sampling;
    await r1.start(); // back in the group, as the newest candidate
    const stats = loads.map((l) => l.stats());
    expect(failoverMs).toBeLessThanOrEqual((TTL_S + 1) * 1000);
    expect([r2.id, r3.id]).toContain(newLeader);
    for (const s of stats) {
      expect(s.failed, s.firstFailure).toBe(0);
      expect(s.ok).toBeGreaterThan(100);
    }
    // The share neither drops to nothing nor jumps while the leadership moves.
    expect(weightAtKill).toBeGreaterThan(0);
    expect(Math.min(...weights)).toBeGreaterThan(0);
    expect(Math.max(...weights.map((w) => Math.abs(w - weightAtKill)))).toBeLessThanOrEqual(150);
    // The new leader took over what Modal already has: it does not send the same settings again.
    const after = updates().slice(before);
    const lastBefore = updates()[before - 1]?.settings;
    expect(after.filter((u) => u.tokenId !== tokenOf(group.replicas.find((r) => r.id === newLeader)!))).toEqual([]);
    expect(after[0]?.settings ?? null).not.toEqual(lastBefore);
  });

  it('a leader frozen past its lease cannot publish or actuate when it wakes', async () => {
    const first = group.replicas[1]!;
    const paused = (await group.leader(first))!;
    const other = group.replicas.find((r) => r !== paused && r.process())!;
    const pausedAt = Date.now();
    paused.signal('SIGSTOP');
    const successor = await waitFor(
      async () => {
        const l = await leaderNow(other);
        return l && l !== paused.id ? l : undefined;
      },
      15_000,
      'a leader while the old one is frozen',
    );
    const successorToken = BigInt((await other.state()).replication?.fencing_token ?? '0');
    await new Promise((r) => setTimeout(r, Math.max(0, pausedAt + (TTL_S + 2) * 1000 - Date.now())));
    const resumedAt = Date.now();
    const updatesBefore = updates().length;
    paused.signal('SIGCONT');
    await waitFor(
      async () => (await leaderNow(paused)) === successor && !(await paused.state()).replication?.is_leader,
      10_000,
      'the woken replica to follow',
    );
    await new Promise((r) => setTimeout(r, 2_000));
    // Nothing under the old leader's name reached etcd after it woke, and no update of Modal's autoscaler came from it.
    expect(leaderWrites.filter((w) => w.atMs >= resumedAt && w.leader === paused.id)).toEqual([]);
    expect(leaderWrites.filter((w) => w.atMs >= resumedAt && w.epoch < successorToken)).toEqual([]);
    expect(
      updates()
        .slice(updatesBefore)
        .filter((u) => u.tokenId === tokenOf(paused)),
    ).toEqual([]);
    expect(paused.output()).toMatch(/no longer leads the group/);
    // Its Envoy runs what the group publishes again.
    const attached = [e1, e2].find((e) => e.replica === paused)!;
    const peer = [e1, e2].find((e) => e !== attached)!;
    await waitFor(async () => (await running(attached)) === (await running(peer)), 15_000, 'the woken replica’s Envoy in step');
  });

  it('a cordon and an override made through one replica reach the Envoy attached to another', async () => {
    const [, r2] = group.replicas as [ReplicaProcess, ReplicaProcess];
    const endpoint = `127.0.0.1:${inHouse[0]!.port}`;
    await unary((md, cb) => r2.admin.Cordon({ service: 'echo', endpoint, reason: 'test' }, md, cb));
    await unary((md, cb) => r2.admin.Override({ service: 'echo', share: 0.5, duration: { seconds: 600 }, reason: 'test' }, md, cb));
    const cordoned = async (): Promise<string | undefined> => {
      const clusters = await e2.envoy.clustersJson();
      const host = clusters.cluster_statuses
        ?.find((c) => c.name === 'echo')
        ?.host_statuses?.find((h) => h.address.socket_address.port_value === inHouse[0]!.port);
      return JSON.stringify(host?.health_status ?? {});
    };
    await waitFor(
      async () => (await modalWeight(e2.envoy)) === 500 && /DRAINING/.test((await cordoned()) ?? ''),
      10_000,
      'override and cordon in envoy-ha-2',
    );
    // Every replica reports the same override.
    for (const r of group.replicas) expect((await r.state()).services[0]?.override?.share).toBe(0.5);
    await unary((md, cb) => r2.admin.ClearOverride({ service: 'echo' }, md, cb));
    await unary((md, cb) => r2.admin.Uncordon({ service: 'echo', endpoint, reason: 'test' }, md, cb));
    await waitFor(
      async () => (await modalWeight(e2.envoy)) !== 500 && !/DRAINING/.test((await cordoned()) ?? ''),
      10_000,
      'override and cordon gone',
    );
  });

  it('etcd down for 20 s under load: serving goes on with the last plan, nobody actuates, control resumes after', async () => {
    const replicas = group.replicas;
    await waitFor(async () => (await running(e1)) === (await running(e2)), 15_000, 'Envoys in step before the outage');
    for (const l of loads) l.reset();
    const weightBefore = await modalWeight(e1.envoy);
    expect(weightBefore).toBeGreaterThan(0);
    await etcd.stop();
    const stoppedAt = Date.now();
    // Demand falls during the outage: a controller that could act would lower the share and release the pre-warm.
    for (const l of loads) l.setRate(4);
    // Whoever led stops: etcd can no longer vouch for its lease.
    await waitFor(
      async () => (await Promise.all(replicas.map((r) => r.state()))).every((st) => !st.replication?.is_leader),
      (TTL_S + 1) * 1000,
      'no replica leading while etcd is down',
    );
    const degraded = await Promise.all(
      replicas.map((r) => waitFor(async () => (await r.state()).replication?.degraded, 10_000, `${r.id} to report itself degraded`)),
    );
    expect(degraded.every((d) => /etcd unreachable/.test(String(d)))).toBe(true);
    // The plan in force once nobody leads (one decided just before etcd stopped may still have been landing).
    const planBefore = await running(e1);
    expect(await running(e2)).toBe(planBefore);
    // Its Modal weight, the one the resumed leader must lower (weightBefore may have moved already).
    const weightInForce = await modalWeight(e1.envoy);
    expect(weightInForce).toBeGreaterThan(0);
    expect(await health(replicas[1]!, 'spillway.replication')).toBe('NOT_SERVING');
    expect(await health(replicas[1]!, '')).toBe('SERVING');
    expect(await metric(replicas[1]!, 'spillway_ha_degraded')).toBe(1);
    // An operator action cannot be recorded, so it is applied nowhere, and the caller is told.
    const refused = await unary((md, cb) =>
      replicas[1]!.admin.Cordon({ service: 'echo', endpoint: `127.0.0.1:${inHouse[0]!.port}`, reason: 'test' }, md, cb),
    ).catch((err: grpc.ServiceError) => err);
    expect((refused as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
    while (Date.now() < stoppedAt + 20_000) {
      expect(await running(e1)).toBe(planBefore);
      expect(await running(e2)).toBe(planBefore);
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const outage = { from: stoppedAt, to: Date.now() };
    await etcd.start();
    const restartedAt = Date.now();
    expect(updates().filter((u) => u.atMs >= outage.from && u.atMs <= outage.to)).toEqual([]);
    for (const l of loads) {
      const s = l.stats();
      expect(s.failed, s.firstFailure).toBe(0);
    }
    // Within a few seconds a leader decides again, and the plan follows the lower demand.
    await waitFor(
      async () => {
        const s = await replicas[1]!.state();
        return s.replication?.leader_id && !s.replication.degraded ? s.replication.leader_id : undefined;
      },
      TTL_S * 1000 + 5_000,
      'a leader after etcd came back',
    );
    const resumedMs = Date.now() - restartedAt;
    await waitFor(async () => (await modalWeight(e1.envoy)) < weightInForce, 20_000, 'the plan to follow the lower demand');
    expect(await running(e1)).not.toBe(planBefore);
    expect(resumedMs).toBeLessThan(TTL_S * 1000 + 5_000);
  });
});
