// One benchmark run: a fresh Spillway child, N load streams, then P weight changes, each measured
// from the publish call inside Spillway to every stream's ACK of the new EDS version.
import { mkdirSync } from 'node:fs';
import { AdsLoadClient, type Protocol } from './ads-load-client.js';
import { SpillwayChild, type BenchServer } from './child-handle.js';
import type { ChildReply } from './child-protocol.js';
import { CpuProfiler } from './cpu-profiler.js';
import { serviceName } from './fanout-config.js';
import { distribution, median, percentile, round } from './stats.js';
import { threadCpu } from './thread-cpu.js';

export interface RunOptions {
  streams: number;
  protocol: Protocol;
  pushes: number;
  /** Pushes before the measured ones (JIT and allocator warm-up); recorded, not in the medians. */
  warmup: number;
  services: number;
  streamsPerChannel: number;
  openPerSecond: number;
  /** Offset so every push of the whole benchmark sets a share no run has set before. */
  pushSeed: number;
  /** Directory for CPU profiles of the push phase: spillway.cpuprofile and load-client.cpuprofile. */
  cpuProfDir?: string;
  /** How the Spillway child runs (child-handle.ts); ignored when `server` is given. */
  runtime?: 'tsx' | 'dist';
  /** The server under test (default: a Spillway child). */
  server?: () => Promise<BenchServer>;
  /** With every stream synced and nothing changing, measure the server's CPU for this long (0: skip). */
  idleMs?: number;
}

export interface PushResult {
  /** A warm-up push: kept in the results, left out of the run's medians. */
  warmup: boolean;
  service: string;
  edsVersion: string;
  /** Publish call duration inside Spillway: build + encode + synchronous write to every stream. */
  publishMs: number;
  /** Per stream: publish → ACK written by the stream (client clock; same machine). */
  ackMs: Record<string, number>;
  /** Per stream: publish → response written by Spillway. */
  sentMs: Record<string, number>;
  /** Per stream: publish → response received. */
  receiveMs: Record<string, number>;
  /** Per stream: publish → ACK processed by Spillway's ADS server (server-side view). */
  serverAckMs: Record<string, number>;
  serverAcks: number;
  /** Spillway CPU time (user + system) from before the publish until the last ACK was processed. */
  cpuMs: number;
  /** The part of cpuMs on threads other than the main one (10 ms resolution; thread-cpu.ts). */
  otherThreadsCpuMs?: number;
  /** Resource payload bytes Spillway reported sending ('sent' events) for this push. */
  sentBytes: number;
  sentResponses: number;
  /** Serialized DiscoveryResponse bytes the load client received for this push. */
  receivedBytes: number;
}

export interface RunResult {
  /** The server measured ('spillway' unless the run said otherwise). */
  server?: string;
  streams: number;
  protocol: Protocol;
  /** RSS of the freshly started server, before any stream, after a full GC. */
  rssStart?: number;
  /** CPU ms per second with all N streams connected and nothing changing (when measured). */
  idleCpuMsPerS?: number;
  syncMs: number;
  rssIdle: number;
  rssConnected: number;
  rssPerStream: number;
  heapPerStream: number;
  /**
   * The same two over the streams opened after the midpoint only (RSS and heap at N less at the
   * midpoint, over the streams opened since): a stream's cost at the margin, without one-off growth.
   * Absent below two connections' worth of streams, and in results written before 2026-11-30
   * 17:15 UTC, when streams opened in one go.
   */
  rssPerStreamMarginal?: number;
  heapPerStreamMarginal?: number;
  /**
   * The same two after the pushes (after a full GC): what a stream costs once it has been sent and
   * has ACKed several versions (nonces and versions remembered, per-resource acceptance). Absent in
   * results written before 2026-11-30.
   */
  rssPerStreamAfterPushes?: number;
  heapPerStreamAfterPushes?: number;
  /** Streams that ended before the run was over (should be 0). */
  streamsLost: number;
  pushes: PushResult[];
  /** The run's first push (a cold process): its p99 and CPU. */
  firstPushP99Ms: number;
  firstPushCpuMs: number;
  /** Mean over measured pushes of the CPU on threads other than the main one (V8's compiler and GC helpers for Node). */
  otherThreadsCpuMsPerPush?: number;
  /** Over this run's measured pushes: median of per-push p50/p99, max of per-push max, medians of the rest. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  serverP99Ms: number;
  cpuMsPerPush: number;
  publishMs: number;
  sentBytesPerPush: number;
  receivedBytesPerPush: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const cpuMs = (s: { cpuUserUs?: number; cpuSystemUs?: number }): number => ((s.cpuUserUs ?? 0) + (s.cpuSystemUs ?? 0)) / 1000;

/** How long after the sync the idle window starts. */
export const IDLE_SETTLE_MS = 3_000;

export async function runOnce(o: RunOptions): Promise<RunResult> {
  const child = await (o.server ?? (() => SpillwayChild.start({ services: o.services, runtime: o.runtime ?? 'tsx' })))();
  const clientProfiler = new CpuProfiler();
  const client = new AdsLoadClient({
    target: `127.0.0.1:${child.xdsPort}`,
    streams: o.streams,
    protocol: o.protocol,
    streamsPerChannel: o.streamsPerChannel,
    openPerSecond: o.openPerSecond,
  });
  try {
    const fresh = await child.request({ cmd: 'stats', gc: true });
    // The idle baseline is taken after a few streams have come and gone, so that one-off costs
    // (the serving path's compiled code, connection and allocator pools) are not charged to the
    // per-stream figure, which at N = 100 they would dominate.
    const primer = new AdsLoadClient({
      target: `127.0.0.1:${child.xdsPort}`,
      streams: 10,
      protocol: o.protocol,
      streamsPerChannel: 10,
      openPerSecond: o.openPerSecond,
      nodePrefix: 'primer',
    });
    await primer.open();
    await primer.waitSynced(30_000);
    primer.close();
    for (let i = 0; i < 100 && (await child.request({ cmd: 'stats' })).streams !== 0; i++) await sleep(20);
    const idle = await child.request({ cmd: 'stats', gc: true });
    // Streams open in two halves with a measurement between them: the second half's RSS is what a
    // stream costs at the margin, without the one-off growth the first streams bring (V8's young
    // generation grows to what serving needs, allocator pools). The halves are whole HTTP/2
    // connections, so both pay the same connection costs; below two connections' worth, one go.
    const half = Math.floor(o.streams / 2 / o.streamsPerChannel) * o.streamsPerChannel;
    const t0 = performance.now();
    let halfway: ChildReply | undefined;
    let syncMs = 0;
    if (half > 0) {
      await client.open(half);
      await client.waitSynced(30_000 + half * 20);
      syncMs = performance.now() - t0;
      await sleep(500);
      halfway = await child.request({ cmd: 'stats', gc: true });
      if (halfway.streams !== half) throw new Error(`${child.name} reports ${halfway.streams} streams halfway, expected ${half}`);
    }
    const t1 = performance.now();
    await client.open();
    await client.waitSynced(30_000 + o.streams * 20);
    syncMs += performance.now() - t1;
    await sleep(500);
    const connected = await child.request({ cmd: 'stats', gc: true });
    if (connected.streams !== o.streams) throw new Error(`${child.name} reports ${connected.streams} streams, expected ${o.streams}`);
    let idleCpuMsPerS: number | undefined;
    if (o.idleMs) {
      // Connected and in sync, nothing published: what keeping N streams costs (timers, keepalives).
      // Idle starts once the sync's garbage is collected: V8 keeps collecting for a second or two
      // after a burst of allocation (the same wait for every server under test).
      await sleep(IDLE_SETTLE_MS);
      const a = await child.request({ cmd: 'stats' });
      const t = performance.now();
      await sleep(o.idleMs);
      const b = await child.request({ cmd: 'stats' });
      idleCpuMsPerS = round((cpuMs(b) - cpuMs(a)) / ((performance.now() - t) / 1000), 2);
    }

    const pushes: PushResult[] = [];
    for (let k = 0; k < o.warmup + o.pushes; k++) {
      if (k === o.warmup && o.cpuProfDir) {
        // Profiles cover the measured pushes only.
        mkdirSync(o.cpuProfDir, { recursive: true });
        await child.request({ cmd: 'profile-start' });
        await clientProfiler.start();
      }
      await sleep(300);
      const service = serviceName(k % o.services);
      const share = 0.2 + 0.005 * ((o.pushSeed + k) % 150);
      const threadsBefore = threadCpu(child.pid);
      const before = await child.request({ cmd: 'stats' });
      const receivedBefore = client.stats().bytesReceived;
      const set = await child.setShare(service, share);
      const version = set.edsVersion ?? '';
      if (!set.ok || !version) throw new Error(`set-share ${service}=${share} published no EDS change`);
      await client.waitEdsVersion(version, 60_000);
      // The last ACK is written; wait (bounded) until Spillway has processed them all.
      let acks = await child.request({ cmd: 'acks', version });
      for (let i = 0; i < 250 && (acks.count ?? 0) < o.streams; i++) {
        await sleep(20);
        acks = await child.request({ cmd: 'acks', version });
      }
      const after = await child.request({ cmd: 'stats' });
      const threadsAfter = threadCpu(child.pid);
      const publishAt = set.publishAtMs ?? 0;
      const recs = client.edsRecords(version).filter((r) => r !== undefined);
      pushes.push({
        warmup: k < o.warmup,
        service,
        edsVersion: version,
        publishMs: round((set.publishReturnedAtMs ?? 0) - publishAt, 3),
        ackMs: distribution(recs.map((r) => r.ackedAtMs - publishAt)),
        sentMs: distribution(acks.sentMs ?? []),
        receiveMs: distribution(recs.map((r) => r.receivedAtMs - publishAt)),
        serverAckMs: distribution(acks.latenciesMs ?? []),
        serverAcks: acks.count ?? 0,
        // The polling above costs the child a few stats/acks replies: microseconds each.
        cpuMs: round(cpuMs(after) - cpuMs(before), 2),
        // A helper thread that exited during the push takes its CPU with it: never below 0.
        ...(threadsBefore && threadsAfter ? { otherThreadsCpuMs: Math.max(0, threadsAfter.otherMs - threadsBefore.otherMs) } : {}),
        sentBytes: (after.sentBytes ?? 0) - (before.sentBytes ?? 0),
        sentResponses: (after.sentResponses ?? 0) - (before.sentResponses ?? 0),
        receivedBytes: client.stats().bytesReceived - receivedBefore,
      });
    }
    if (o.cpuProfDir) {
      await child.request({ cmd: 'profile-stop', path: `${o.cpuProfDir}/spillway.cpuprofile` });
      await clientProfiler.stop(`${o.cpuProfDir}/load-client.cpuprofile`);
    }
    const settled = await child.request({ cmd: 'stats', gc: true });
    const rssIdle = idle.rss ?? 0;
    const rssConnected = connected.rss ?? 0;
    const at = (p: PushResult, k: string): number => p.ackMs[k] ?? Number.NaN;
    const measured = pushes.filter((p) => !p.warmup);
    return {
      server: child.name,
      streams: o.streams,
      protocol: o.protocol,
      rssStart: fresh.rss ?? 0,
      ...(idleCpuMsPerS !== undefined ? { idleCpuMsPerS } : {}),
      syncMs: round(syncMs),
      rssIdle,
      rssConnected,
      rssPerStream: round((rssConnected - rssIdle) / o.streams),
      heapPerStream: round(((connected.heapUsed ?? 0) - (idle.heapUsed ?? 0)) / o.streams),
      ...(halfway
        ? {
            rssPerStreamMarginal: round((rssConnected - (halfway.rss ?? 0)) / (o.streams - half)),
            heapPerStreamMarginal: round(((connected.heapUsed ?? 0) - (halfway.heapUsed ?? 0)) / (o.streams - half)),
          }
        : {}),
      rssPerStreamAfterPushes: round(((settled.rss ?? 0) - rssIdle) / o.streams),
      heapPerStreamAfterPushes: round(((settled.heapUsed ?? 0) - (idle.heapUsed ?? 0)) / o.streams),
      streamsLost: client.stats().ended,
      pushes,
      firstPushP99Ms: round(at(pushes[0]!, 'p99'), 2),
      firstPushCpuMs: pushes[0]!.cpuMs,
      ...otherThreadsFigure(measured),
      p50Ms: round(median(measured.map((p) => at(p, 'p50'))), 2),
      p99Ms: round(median(measured.map((p) => at(p, 'p99'))), 2),
      maxMs: round(Math.max(...measured.map((p) => at(p, 'max'))), 2),
      serverP99Ms: round(median(measured.map((p) => p.serverAckMs['p99'] ?? Number.NaN)), 2),
      cpuMsPerPush: round(median(measured.map((p) => p.cpuMs)), 2),
      publishMs: round(median(measured.map((p) => p.publishMs)), 2),
      sentBytesPerPush: median(measured.map((p) => p.sentBytes)),
      receivedBytesPerPush: median(measured.map((p) => p.receivedBytes)),
    };
  } finally {
    client.close();
    await child.stop();
  }
}

/** A run's median, over its measured pushes, of one per-stream stage's per-push p99. */
export function stageP99(r: RunResult, stage: 'sentMs' | 'receiveMs' | 'ackMs'): number {
  return median(r.pushes.filter((p) => !p.warmup).map((p) => p[stage]['p99'] ?? Number.NaN));
}

/** For the console: one line per run. */
export function describeRun(r: RunResult): string {
  const measuredP99 = r.pushes.filter((p) => !p.warmup).map((p) => p.ackMs['p99'] ?? 0);
  return (
    `${r.server ?? 'spillway'} N=${r.streams} ${r.protocol}: start RSS ${round((r.rssStart ?? 0) / 2 ** 20)} MiB; ${r.idleCpuMsPerS !== undefined ? `idle CPU ${r.idleCpuMsPerS} ms/s; ` : ''}sync ${r.syncMs} ms; ACK p50 ${r.p50Ms} p99 ${r.p99Ms} max ${r.maxMs} ms (server p99 ${r.serverP99Ms}); ` +
    `publish ${r.publishMs} ms; CPU ${r.cpuMsPerPush} ms/push; RSS ${round(r.rssPerStream / 1024)} KiB/stream (${r.rssPerStreamMarginal !== undefined ? `${round(r.rssPerStreamMarginal / 1024)} at the margin, ` : ''}${round((r.rssPerStreamAfterPushes ?? Number.NaN) / 1024)} after the pushes); ` +
    `${r.sentBytesPerPush} B sent/push; lost ${r.streamsLost}; stages p99 sent ${round(stageP99(r, 'sentMs'))} received ${round(stageP99(r, 'receiveMs'))} acked ${r.p99Ms}; p99 spread over measured pushes ${round(percentile(measuredP99, 0))}–${round(percentile(measuredP99, 1))}; first push p99 ${r.firstPushP99Ms} ms, CPU ${r.firstPushCpuMs} ms${r.otherThreadsCpuMsPerPush !== undefined ? `; off the main thread ${r.otherThreadsCpuMsPerPush} ms/push` : ''}`
  );
}

/** Mean CPU off the main thread over the pushes that have a reading (none where /proc is missing). */
function otherThreadsFigure(pushes: readonly PushResult[]): { otherThreadsCpuMsPerPush?: number } {
  const readings = pushes.flatMap((p) => (p.otherThreadsCpuMs === undefined ? [] : [p.otherThreadsCpuMs]));
  // A mean, not a median: each reading is a multiple of 10 ms.
  return readings.length === 0 ? {} : { otherThreadsCpuMsPerPush: round(readings.reduce((a, b) => a + b, 0) / readings.length, 2) };
}
