// The side-by-side table: Spillway against go-control-plane, cell by cell, as ratios of medians
// (Spillway ÷ go-control-plane: below 1 means Spillway is ahead) with the per-run-pair range.
import type { Protocol } from '../fanout/ads-load-client.js';
import { IDLE_SETTLE_MS, type RunResult } from '../fanout/fanout-run.js';
import type { Machine } from '../fanout/report.js';
import { median, round } from '../fanout/stats.js';

export const COMPARE_TITLE = '## Side by side with go-control-plane';

export interface Versions {
  node: string;
  go: string;
  goControlPlane: string;
  envoyApi: string;
  grpcGo: string;
}

export interface CompareResults {
  command: string;
  startedAt: string;
  machine: Machine;
  versions: Versions;
  options: { sizes: number[]; protocols: Protocol[]; runs: number; pushes: number; warmup: number; services: number; idleMs: number };
  /** `${server}/${streams}/${protocol}` → runs, in run order. */
  runs: Record<string, RunResult[]>;
}

type Metric = (r: RunResult) => number | undefined;

const METRICS: ReadonlyArray<{ label: string; unit: string; of: Metric; lowerIsBetter: true }> = [
  { label: 'ACK p99', unit: 'ms', of: (r) => r.p99Ms, lowerIsBetter: true },
  { label: 'last ACK', unit: 'ms', of: (r) => r.maxMs, lowerIsBetter: true },
  { label: 'CPU/push', unit: 'ms', of: (r) => r.cpuMsPerPush, lowerIsBetter: true },
];

interface Cell {
  spillway: number;
  reference: number;
  /** Median ratio and the range of the per-run-pair ratios. */
  ratio: number;
  lo: number;
  hi: number;
}

function cell(s: readonly RunResult[], g: readonly RunResult[], of: Metric): Cell | undefined {
  const sv = s.map(of).filter((x): x is number => x !== undefined && Number.isFinite(x));
  const gv = g.map(of).filter((x): x is number => x !== undefined && Number.isFinite(x));
  if (sv.length === 0 || gv.length === 0) return undefined;
  const pairs = sv.slice(0, gv.length).map((x, i) => x / (gv[i] as number));
  return {
    spillway: median(sv),
    reference: median(gv),
    ratio: median(sv) / median(gv),
    lo: Math.min(...pairs),
    hi: Math.max(...pairs),
  };
}

const n = (x: number): string => x.toLocaleString('en-US');
const v = (x: number): string => (x >= 100 ? String(Math.round(x)) : String(round(x, 1)));
const fmtCell = (c: Cell | undefined): string =>
  c ? `${v(c.spillway)} / ${v(c.reference)} (${round(c.ratio, 2)}×; ${round(c.lo, 2)}–${round(c.hi, 2)}×)` : '—';

export function cells(r: CompareResults, streams: number, protocol: Protocol): { metrics: Array<Cell | undefined>; ahead: boolean } {
  const s = r.runs[`spillway/${streams}/${protocol}`] ?? [];
  const g = r.runs[`go-control-plane/${streams}/${protocol}`] ?? [];
  const metrics = METRICS.map((m) => cell(s, g, m.of));
  return { metrics, ahead: metrics.every((c) => c !== undefined && c.ratio < 1) };
}

export function renderCompare(r: CompareResults, resultsFile: string, notes: readonly string[]): string {
  const m = r.machine;
  const rows: string[] = [];
  for (const streams of r.options.sizes) {
    for (const protocol of r.options.protocols) {
      const { metrics, ahead } = cells(r, streams, protocol);
      const s = r.runs[`spillway/${streams}/${protocol}`] ?? [];
      const g = r.runs[`go-control-plane/${streams}/${protocol}`] ?? [];
      // After the pushes: a stream's cost once it has been sent and has ACKed several versions.
      const rss = cell(s, g, (x) => (x.rssPerStreamAfterPushes ?? x.rssPerStream) / 1024);
      // The second half of the streams alone: a stream's cost without the one-off growth the first ones bring.
      const margin = cell(s, g, (x) => (x.rssPerStreamMarginal ?? Number.NaN) / 1024);
      const first = cell(s, g, (x) => x.firstPushP99Ms);
      const lost = `${s.reduce((a, x) => a + x.streamsLost, 0)} / ${g.reduce((a, x) => a + x.streamsLost, 0)}`;
      rows.push(
        `| ${n(streams)} | ${protocol} | ${metrics.map(fmtCell).join(' | ')} | ${fmtCell(first)} | ${fmtCell(rss)} | ${fmtCell(margin)} | ${lost} | ${ahead ? 'ahead' : '**behind**'} |`,
      );
    }
  }
  const atRest: string[] = [];
  for (const server of ['spillway', 'go-control-plane']) {
    const all = Object.entries(r.runs)
      .filter(([k]) => k.startsWith(`${server}/`))
      .flatMap(([, runs]) => runs);
    const start = all.map((x) => (x.rssStart ?? 0) / 2 ** 20).filter((x) => x > 0);
    const idle = r.options.sizes.map((streams) => {
      const xs = all.filter((x) => x.streams === streams && x.idleCpuMsPerS !== undefined).map((x) => x.idleCpuMsPerS as number);
      return xs.length ? `${v(median(xs))} (${v(Math.min(...xs))}–${v(Math.max(...xs))})` : '—';
    });
    atRest.push(
      `| ${server} | ${start.length ? `${v(median(start))} (${v(Math.min(...start))}–${v(Math.max(...start))})` : '—'} | ${idle.join(' | ')} |`,
    );
  }
  const load = (xs: number[]): string => xs.map((x) => round(x, 2)).join(' / ');
  return [
    COMPARE_TITLE,
    '',
    `Produced by \`${r.command}\`; raw results in \`${resultsFile}\` (rendered alone next to it as \`.md\`).`,
    '',
    `Machine: ${m.nproc} cores, ${m.cpuModel}; load average ${load(m.loadAvgStart)} at start, ${load(m.loadAvgEnd)} at end. ` +
      `Versions: Node ${r.versions.node}; ${r.versions.go}; go-control-plane ${r.versions.goControlPlane} with go-control-plane/envoy ${r.versions.envoyApi} and grpc-go ${r.versions.grpcGo}.`,
    '',
    `Setup: the fan-out benchmark's topology (${r.options.services} services, 4 in-house + 1 Modal endpoint in two localities, one CDS/EDS/LDS/RDS resource each) served by each server in turn, alone in a child process; ` +
      `the same load tool (bench/fanout) opens N Envoy-like streams, then ${r.options.warmup} warm-up and ${r.options.pushes} measured EDS-only pushes (one service's share), each measured from the server's publish stamp to every stream's ACK. ` +
      `${r.options.runs} runs per cell, the two servers alternating first within each run.`,
    '',
    'Each cell: Spillway / go-control-plane medians over runs (Spillway ÷ go-control-plane: median ratio; range of the per-run ratios). Below 1× Spillway is ahead.',
    '',
    '| streams | protocol | ACK p99 ms | last ACK ms | CPU/push ms | first push p99 ms | RSS/stream KiB after the pushes | RSS/stream KiB at the margin (N/2 → N, after the sync) | streams lost | verdict |',
    '|---:|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `At rest: RSS of the freshly started server with no stream (after a full GC), and CPU with N streams connected and in sync while nothing changes (ms of CPU per second, over ${r.options.idleMs / 1000} s, starting ${IDLE_SETTLE_MS / 1000} s after the last stream synced).`,
    '',
    `| server | RSS at start MiB | ${r.options.sizes.map((s) => `idle CPU ms/s, N = ${n(s)}`).join(' | ')} |`,
    `|---|---:|${r.options.sizes.map(() => '---:').join('|')}|`,
    ...atRest,
    '',
    ...notes.map((x) => `- ${x}`),
    '',
  ].join('\n');
}

/** What the comparison does and does not hold equal; true for every run. */
export const FAIRNESS_NOTES: readonly string[] = [
  "Same resources: the benchmark builds them once with Spillway's own builders and hands go-control-plane the encoded bytes (`set` on its child protocol), so both serve identical Clusters, ClusterLoadAssignments, Listeners and RouteConfigurations at the same per-type versions. go-control-plane's snapshot is built per type (`cachev3.NewResources` per type, not `NewSnapshot`'s single version), so an EDS-only change leaves CDS/LDS/RDS untouched on both sides.",
  "Spillway's publish stamp is taken before `publisher.setPlan`, so its figures include building, validating and encoding the new snapshot from a plan; go-control-plane's stamp is taken before `SetSnapshot` on resources that only need decoding (the encoding happened in the benchmark process, untimed).",
  "SotW: go-control-plane answers every open EDS watch with every CLA of the type (10 here), Spillway sends only the CLA that changed (omission is not deletion for EDS). go-control-plane therefore marshals and writes ≈ 10× the payload per stream (see sent bytes in the JSON), and the load tool decodes 10 CLAs per stream instead of one: that client-side work sits inside go-control-plane's ACK latency, not its CPU/push. Delta: both send the one changed CLA.",
  "Both sides count ACKs server-side the same way (a callback per request: go-control-plane's `CallbackFuncs` with lock-free counters, Spillway's `XdsEvents`), used only to know when the last ACK was processed; CPU/push runs from before the publish until then.",
  'Spillway runs as compiled JavaScript under plain `node --expose-gc` (as in production, without tsx), logging at info to /dev/null; go-control-plane with no logger, `GOMAXPROCS` at its default (2). Both are plaintext gRPC on loopback with 100 streams per HTTP/2 connection; the load tool runs in the benchmark process on the same 2 cores.',
  'go-control-plane runs in ADS mode (`NewSnapshotCache(true, …)`) with one snapshot key for every node (a `NodeHash` that returns a constant), which is how a control plane serving one state to every Envoy would use it.',
];

export function verdictLines(r: CompareResults): string[] {
  const out: string[] = [];
  for (const streams of r.options.sizes) {
    for (const protocol of r.options.protocols) {
      const { metrics, ahead } = cells(r, streams, protocol);
      if (ahead) continue;
      const behind = METRICS.filter((_, i) => (metrics[i]?.ratio ?? Infinity) >= 1).map((x) => x.label);
      out.push(`N = ${n(streams)} ${protocol}: behind on ${behind.join(', ')}`);
    }
  }
  return out;
}
