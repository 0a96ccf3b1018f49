// One abuse campaign against the rig: never-reading clients held open throughout; seeded random and
// mutated calls of every kind; then the floods. Meanwhile Spillway's memory is sampled, and its
// published weights and mode are watched. The report holds the figures RELIABILITY.md quotes.
import { statSync, readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { CaseKind } from '../../tools/fuzz/cases.js';
import {
  connectionChurn,
  handshakeFlood,
  hugeSubscriptions,
  neverReaders,
  streamChurn,
  type FloodFigures,
} from '../../tools/fuzz/floods.js';
import { isViolation, runCases, type Outcome } from '../../tools/fuzz/run-cases.js';
import { createHash } from 'node:crypto';
import { percentile } from '../../src/core/percentile.js';
import { canonicalJson, loadAssignment } from '../../tools/envoy/config-dump.js';
import { memoryOf, type FuzzRig, type RealTraffic } from './rig.js';

export interface CampaignOptions {
  seed: number;
  /** Calls per kind. */
  perKind: number;
  /** Streams opened and dropped. */
  churn: number;
  /** Connections torn down mid-stream, and handshakes without a certificate. */
  connections: number;
  neverReaders: number;
  concurrency?: number;
  log?: (line: string) => void;
}

export interface KindFigures {
  tried: number;
  served: number;
  quiet: number;
  transport: number;
  refused: Record<string, number>;
  /** Why calls failed below gRPC (connection reset, handshake), by message. */
  transportReasons: Record<string, number>;
  /** From the request to the refusing status, ms. */
  refusalMs: { p50: number; p99: number };
}

export interface CampaignReport {
  seed: number;
  durationMs: number;
  kinds: Record<string, KindFigures>;
  /** Refusals by status code over every call and flood. */
  byStatus: Record<string, number>;
  /** Refusals by the limit or rule they named. */
  byRule: Record<string, number>;
  floods: FloodFigures[];
  violations: string[];
  /** Calls that ended below gRPC, for diagnosis (the first 50). */
  transportSamples: string[];
  memory: {
    baselineRss: number;
    peakRss: number;
    finalRss: number;
    /** Highest RSS sampled while the calls ran, and while the floods ran. */
    peakDuringCalls: number;
    peakDuringFloods: number;
    /** V8 heap in use (Spillway's own nodejs_heap_size_used_bytes) before, and 2 s after the campaign. */
    heapBefore: number;
    heapAfter: number;
    samples: number;
  };
  traffic: RealTraffic & { perEnvoy: Record<string, number> };
  weights: {
    modes: string[];
    modalWeights: number[];
    /** Scrapes of /metrics that failed while watching (the watch skips them). */
    metricsErrors: number;
    publishesBefore: number;
    publishesAfter: number;
    edsBefore: string[];
    edsAfter: string[];
  };
  streams: { before: number; after: number };
  /** Envoys with an open LRS stream, before and after. */
  lrsEnvoys: { before: number; after: number };
  envoysConnected: boolean[];
  spillwayAlive: boolean;
  /** Audit lines are one per admin mutation attempt by design; the rest are logged once per peer and rule. */
  log: { bytes: number; auditLines: number; otherWarnLines: number };
}

const CODE_NAME = (code: number | undefined): string => (code === undefined ? 'no status' : (grpc.status[code] ?? String(code)));

function gauge(text: string, metric: string, labels = ''): number[] {
  const re = new RegExp(`^${metric}${labels ? `\\{${labels}\\}` : '(\\{[^}]*\\})?'} ([0-9.e+-]+)$`, 'gm');
  return [...text.matchAll(re)].map((m) => Number(m[m.length - 1]));
}

/** What each Envoy runs for the service: its ClusterLoadAssignment (config_dump), as a short digest. */
async function edsVersions(rig: FuzzRig): Promise<string[]> {
  return Promise.all(
    rig.envoys.map(async (e) => {
      const cla = loadAssignment(await e.configDump('?include_eds'), 'echo');
      return cla ? createHash('sha256').update(canonicalJson(cla)).digest('hex').slice(0, 12) : 'none';
    }),
  );
}

export async function runCampaign(rig: FuzzRig, o: CampaignOptions): Promise<CampaignReport> {
  const say = o.log ?? (() => {});
  const started = Date.now();
  const before = await rig.metrics();
  const baseline = memoryOf(rig.spillwayPid);
  const edsBefore = await edsVersions(rig);
  const streamsBefore = gauge(before, 'spillway_xds_connected_streams').reduce((a, b) => a + b, 0);
  const modes = new Set<string>();
  let metricsErrors = 0;
  const modalWeights = new Set<number>();
  let peak = baseline.rss;
  let samples = 0;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, memoryOf(rig.spillwayPid).rss);
      samples++;
    } catch {
      // The process is gone; the report says so.
    }
  }, 100);
  const watcher = setInterval(() => {
    void rig
      .metrics()
      .then((text) => {
        for (const m of text.matchAll(/^spillway_mode\{service="echo",mode="([^"]+)"\} 1$/gm)) modes.add(m[1]!);
        for (const w of gauge(text, 'spillway_locality_weight', 'service="echo",locality="modal"')) modalWeights.add(w);
      })
      .catch(() => metricsErrors++);
  }, 500);

  const violations: string[] = [];
  const outcomes: Outcome[] = [];
  const stuck = neverReaders(rig.xds, rig.identity('fuzz-stuck'), o.neverReaders);
  try {
    say(`calls: ${o.perKind} per kind (seed ${o.seed})`);
    const identities = [0, 1, 2, 3].map((i) => rig.identity(`fuzz-${i}`));
    const counts = Object.fromEntries(Object.values(CaseKind).map((k) => [k, o.perKind]));
    outcomes.push(
      ...(await runCases({
        seed: o.seed,
        counts,
        xds: rig.xds,
        admin: { address: rig.admin, tls: rig.adminTls },
        identities,
        concurrency: o.concurrency ?? 16,
        target: {
          othersNode: 'envoy-sotw',
          services: ['echo'],
          endpoints: rig.inHouseEndpoints,
          adminToken: rig.adminToken,
          limits: { maxNames: 10_000, maxMessageBytes: 4 * 1024 * 1024, adminMaxMessageBytes: 64 * 1024, maxReasonBytes: 256 },
        },
      })),
    );
    for (const v of outcomes.filter(isViolation))
      violations.push(`${v.kind}#${v.index} (${v.mutation}): ${CODE_NAME(v.code)}: ${v.message}`);
    say(`calls done: ${outcomes.length}`);
  } finally {
    // Floods run with the stuck clients still holding their streams.
  }
  const floods: FloodFigures[] = [];
  const peakDuringCalls = peak;
  peak = 0;
  say(`floods: ${o.connections} handshakes without a certificate`);
  floods.push(await handshakeFlood(rig.xds, rig.anonymousTls, o.connections));
  say(`floods: ${o.churn} streams opened and dropped`);
  floods.push(
    await streamChurn(
      rig.xds,
      [0, 1, 2, 3].map((i) => rig.identity(`fuzz-churn-${i}`)),
      o.churn,
    ),
  );
  say(`floods: ${o.connections} connections torn down mid-stream`);
  floods.push(await connectionChurn(rig.xds, rig.identity('fuzz-drop'), o.connections));
  say('floods: subscriptions to 100,000 names');
  floods.push(await hugeSubscriptions(rig.xds, rig.identity('fuzz-huge')));
  for (const f of floods) violations.push(...f.violations.map((v) => `${f.name}: ${v}`));
  stuck.close();

  // Let closed streams settle before reading the final state.
  await new Promise((r) => setTimeout(r, 2000));
  clearInterval(sampler);
  clearInterval(watcher);
  const peakDuringFloods = peak;
  const after = await rig.metrics();
  const final = memoryOf(rig.spillwayPid);
  const edsAfter = await edsVersions(rig);
  const connected = await Promise.all(
    rig.envoys.map(async (e) => (await e.stats('control_plane.connected_state'))['control_plane.connected_state'] === 1),
  );
  const perEnvoy: Record<string, number> = {};
  for (const e of rig.envoys) {
    const s = await e.stats('http.echo.downstream_rq_completed');
    perEnvoy[e.nodeId] = s['http.echo.downstream_rq_completed'] ?? 0;
  }

  const kinds: Record<string, KindFigures> = {};
  const byStatus: Record<string, number> = {};
  const byRule: Record<string, number> = {};
  const ruleOf = (message: string): string =>
    /\b(xds|lrs|admin)\.(limits\.[a-z_]+|node_identity|reporters)\b/.exec(message)?.[0] ??
    /^(service|endpoint|share|duration|reason): /.exec(message)?.[0]?.replace(': ', ' (admin argument)') ??
    (/^not a valid ([A-Za-z]+)/.exec(message)?.[0] ||
      (/type_url/.test(message) ? 'type_url missing or not served' : '') ||
      (/node\.id/.test(message) ? 'node.id missing on the first request' : '') ||
      (/Bearer/.test(message) ? 'bearer token missing or wrong' : '') ||
      (/^Received message larger than max/.test(message) ? 'grpc-js: message over twice the limit (not read)' : '') ||
      message.slice(0, 60));
  for (const out of outcomes) {
    const k = (kinds[out.kind] ??= {
      tried: 0,
      served: 0,
      quiet: 0,
      transport: 0,
      refused: {},
      transportReasons: {},
      refusalMs: { p50: 0, p99: 0 },
    });
    if (out.result === 'transport') {
      // Node's HTTP/2 server closes a connection that sends too many frames on streams it already
      // ended (flood protection); every call still open on that connection of the fuzzer's ends so.
      const why = out.message.includes('ENHANCE_YOUR_CALM')
        ? 'connection closed by HTTP/2 flood protection'
        : out.message.includes('NGHTTP2_PROTOCOL_ERROR')
          ? 'stream reset by HTTP/2 (a header value HTTP/2 forbids)'
          : out.message || '(none)';
      k.transportReasons[why] = (k.transportReasons[why] ?? 0) + 1;
    }
    k.tried++;
    if (out.result === 'refused') {
      const code = CODE_NAME(out.code);
      k.refused[code] = (k.refused[code] ?? 0) + 1;
      byStatus[code] = (byStatus[code] ?? 0) + 1;
      const rule = ruleOf(out.message);
      byRule[rule] = (byRule[rule] ?? 0) + 1;
    } else k[out.result]++;
  }
  for (const [kind, k] of Object.entries(kinds)) {
    const ms = outcomes.filter((x) => x.kind === kind && x.result === 'refused').map((x) => x.ms);
    k.refusalMs = { p50: percentile(ms, 0.5), p99: percentile(ms, 0.99) };
  }
  for (const f of floods) {
    for (const [key, n] of Object.entries(f.outcomes)) {
      const m = /refused (\d+) (.*)$/.exec(key);
      if (!m) continue;
      const code = CODE_NAME(Number(m[1]));
      byStatus[code] = (byStatus[code] ?? 0) + n;
      byRule[m[2]!] = (byRule[m[2]!] ?? 0) + n;
    }
  }
  const logText = readFileSync(rig.logPath, 'utf8');
  let alive = true;
  try {
    process.kill(rig.spillwayPid, 0);
  } catch {
    alive = false;
  }
  return {
    seed: o.seed,
    durationMs: Date.now() - started,
    kinds,
    byStatus,
    byRule,
    floods,
    violations,
    transportSamples: outcomes
      .filter((x) => x.result === 'transport' && !x.message.includes('ENHANCE_YOUR_CALM'))
      .slice(0, 50)
      .map((x) => `${x.kind}#${x.index} (${x.mutation}): ${x.message}`),
    memory: {
      baselineRss: baseline.rss,
      peakRss: Math.max(peakDuringCalls, peakDuringFloods, final.peak),
      finalRss: final.rss,
      peakDuringCalls,
      peakDuringFloods,
      heapBefore: gauge(before, 'nodejs_heap_size_used_bytes')[0] ?? 0,
      heapAfter: gauge(after, 'nodejs_heap_size_used_bytes')[0] ?? 0,
      samples,
    },
    traffic: { ...rig.traffic(), perEnvoy },
    weights: {
      modes: [...modes].sort(),
      modalWeights: [...modalWeights].sort(),
      metricsErrors,
      publishesBefore: gauge(before, 'spillway_snapshot_publishes_total')[0] ?? -1,
      publishesAfter: gauge(after, 'spillway_snapshot_publishes_total')[0] ?? -1,
      edsBefore,
      edsAfter,
    },
    streams: { before: streamsBefore, after: gauge(after, 'spillway_xds_connected_streams').reduce((a, b) => a + b, 0) },
    lrsEnvoys: {
      before: gauge(before, 'spillway_lrs_connected_envoys')[0] ?? -1,
      after: gauge(after, 'spillway_lrs_connected_envoys')[0] ?? -1,
    },
    envoysConnected: connected,
    spillwayAlive: alive,
    log: {
      bytes: statSync(rig.logPath).size,
      auditLines: logText.split('\n').filter((l) => l.includes('"audit":true')).length,
      otherWarnLines: logText.split('\n').filter((l) => l.includes('"level":40') && !l.includes('"audit":true')).length,
    },
  };
}
