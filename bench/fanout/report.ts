// The "xDS fan-out" section of BENCHMARKS.md, regenerated from a results file. Only this section
// is rewritten; other sections (owned by others) are left byte for byte.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Protocol } from './ads-load-client.js';
import { stageP99, type RunResult } from './fanout-run.js';
import { round, spread, type Spread } from './stats.js';

export const SECTION_TITLE = '## xDS fan-out';

/** What a reader needs to interpret the table, true for every run of this benchmark. */
export const STANDING_NOTES: readonly string[] = [
  "Latency columns are end-to-end on one shared 2-core box: Spillway and the load tool each get about one core, and the latency includes the load tool's own receive/decode/ACK work. The load tool speaks gRPC over raw HTTP/2 (bench/fanout/grpc-h2.ts) because grpc-js's client stack cost it as much CPU per message as Spillway spent serving it; the stage columns show what is left of the client's share (written → received).",
  "Warm-up: each run's first pushes run while V8 is still compiling the push path (the first push after start costs 2–4× the CPU of a steady-state push). They are recorded in the results file and summarised in the first-push columns; the other columns are steady state.",
  'Both protocols send only the changed CLA per push (SotW EDS may omit unchanged CLAs; omission is not deletion there).',
  "The load tool sends node identity on the first request only (Envoy's `set_node_on_first_message_only`); an Envoy resending its full Node on every ACK costs the server more decode per ACK.",
  'RSS/stream at N = 100 still carries some fixed cost (allocator arenas, HTTP/2 session buffers) spread over few streams; N ≥ 1,000 is the steadier per-stream figure.',
  'Compare: Istio reports convergence p90 of 1.5–4.5 s in production and ≈0.75 MB istiod RSS per connected sidecar (1.5 GB / 2,000, config included); go-control-plane publishes no numbers.',
];

export interface Machine {
  nproc: number;
  cpuModel: string;
  node: string;
  loadAvgStart: number[];
  loadAvgEnd: number[];
}

export interface ConfigSummary {
  streams: number;
  protocol: Protocol;
  runs: number;
  p50Ms: Spread;
  p99Ms: Spread;
  maxMs: Spread;
  /** Stages at p99: publish → CLA written by Spillway, → received by the load tool. */
  sentP99Ms: Spread;
  receivedP99Ms: Spread;
  firstPushP99Ms: Spread;
  firstPushCpuMs: Spread;
  serverP99Ms: Spread;
  cpuMsPerPush: Spread;
  publishMs: Spread;
  rssPerStreamKiB: Spread;
  heapPerStreamKiB: Spread;
  rssPerStreamAfterPushesKiB: Spread;
  rssPerStreamMarginalKiB: Spread;
  heapPerStreamAfterPushesKiB: Spread;
  rssConnectedMiB: Spread;
  sentBytesPerPush: Spread;
  receivedBytesPerPush: Spread;
  syncMs: Spread;
  streamsLost: number;
}

export function summarize(streams: number, protocol: Protocol, runs: readonly RunResult[]): ConfigSummary {
  const s = (f: (r: RunResult) => number): Spread => spread(runs.map(f));
  return {
    streams,
    protocol,
    runs: runs.length,
    p50Ms: s((r) => r.p50Ms),
    p99Ms: s((r) => r.p99Ms),
    maxMs: s((r) => r.maxMs),
    sentP99Ms: s((r) => stageP99(r, 'sentMs')),
    receivedP99Ms: s((r) => stageP99(r, 'receiveMs')),
    firstPushP99Ms: s((r) => r.firstPushP99Ms),
    firstPushCpuMs: s((r) => r.firstPushCpuMs),
    serverP99Ms: s((r) => r.serverP99Ms),
    cpuMsPerPush: s((r) => r.cpuMsPerPush),
    publishMs: s((r) => r.publishMs),
    rssPerStreamKiB: s((r) => r.rssPerStream / 1024),
    heapPerStreamKiB: s((r) => r.heapPerStream / 1024),
    rssPerStreamAfterPushesKiB: s((r) => (r.rssPerStreamAfterPushes ?? Number.NaN) / 1024),
    rssPerStreamMarginalKiB: s((r) => (r.rssPerStreamMarginal ?? Number.NaN) / 1024),
    heapPerStreamAfterPushesKiB: s((r) => (r.heapPerStreamAfterPushes ?? Number.NaN) / 1024),
    rssConnectedMiB: s((r) => r.rssConnected / 2 ** 20),
    sentBytesPerPush: s((r) => r.sentBytesPerPush),
    receivedBytesPerPush: s((r) => r.receivedBytesPerPush),
    syncMs: s((r) => r.syncMs),
    streamsLost: runs.reduce((n, r) => n + r.streamsLost, 0),
  };
}

/** RSS growth per added stream between the two largest sizes: the cost of one more stream, free of fixed costs. */
function marginalRss(summaries: readonly ConfigSummary[]): string[] {
  const out: string[] = [];
  for (const protocol of new Set(summaries.map((c) => c.protocol))) {
    const sized = summaries.filter((c) => c.protocol === protocol && c.streams >= 1000).sort((a, b) => a.streams - b.streams);
    const [lo, hi] = [sized[0], sized.at(-1)];
    if (!lo || !hi || lo === hi) continue;
    const kib = ((hi.rssConnectedMiB.median - lo.rssConnectedMiB.median) * 1024) / (hi.streams - lo.streams);
    out.push(
      `- Marginal RSS per added stream (${protocol}, N ${lo.streams.toLocaleString('en-US')} → ${hi.streams.toLocaleString('en-US')}, medians): **${round(kib, 1)} KiB**.`,
    );
  }
  return out;
}

const fmt = (x: Spread, digits = 1): string => `${round(x.median, digits)} (${round(x.min, digits)}–${round(x.max, digits)})`;
const kib = (x: Spread): Spread => ({ median: x.median / 1024, min: x.min / 1024, max: x.max / 1024 });

export function renderSection(opts: {
  machine: Machine;
  command: string;
  resultsFile: string;
  pushes: number;
  warmup: number;
  services: number;
  streamsPerChannel: number;
  summaries: readonly ConfigSummary[];
  /** Extra lines under the table (run-specific: noise, profiling). */
  notes: readonly string[];
}): string {
  const m = opts.machine;
  const rows = opts.summaries.map(
    (c) =>
      `| ${c.streams.toLocaleString('en-US')} | ${c.protocol} | ${fmt(c.p50Ms)} | ${fmt(c.p99Ms)} | ${fmt(c.maxMs)} | ${fmt(c.serverP99Ms)} | ${fmt(c.cpuMsPerPush)} | ${fmt(c.firstPushP99Ms)} | ${fmt(c.firstPushCpuMs)} | ${fmt(c.rssPerStreamKiB)} | ${fmt(kib(c.sentBytesPerPush))} | ${fmt(kib(c.receivedBytesPerPush))} | ${fmt({ median: c.syncMs.median / 1000, min: c.syncMs.min / 1000, max: c.syncMs.max / 1000 })} |`,
  );
  const stageRows = opts.summaries.map(
    (c) =>
      `| ${c.streams.toLocaleString('en-US')} | ${c.protocol} | ${fmt(c.publishMs)} | ${fmt(c.sentP99Ms)} | ${fmt(c.receivedP99Ms)} | ${fmt(c.p99Ms)} | ${fmt(c.serverP99Ms)} |`,
  );
  const k1 = opts.summaries.filter((c) => c.streams === 1000);
  const targetLines = [
    ...k1.map(
      (c) =>
        `- 1,000 streams converged within 100 ms p99 (${c.protocol}): **${c.p99Ms.median <= 100 ? 'met' : 'missed'}** in steady state — p99 ${fmt(c.p99Ms)} ms, last ACK ${fmt(c.maxMs)} ms; the first push after start: p99 ${fmt(c.firstPushP99Ms)} ms (**${c.firstPushP99Ms.median <= 100 ? 'met' : 'missed'}**).`,
    ),
    ...opts.summaries
      .filter((c) => c.streams >= 1000)
      .map(
        (c) =>
          `- < 64 KiB RSS per connected stream (N=${c.streams.toLocaleString('en-US')} ${c.protocol}): **${c.rssPerStreamKiB.median < 64 ? 'met' : 'missed'}** — ${fmt(c.rssPerStreamKiB)} KiB (JS heap ${fmt(c.heapPerStreamKiB)} KiB; at the margin, N/2 → N, ${fmt(c.rssPerStreamMarginalKiB)} KiB); after the pushes ${fmt(c.rssPerStreamAfterPushesKiB)} KiB (JS heap ${fmt(c.heapPerStreamAfterPushesKiB)} KiB).`,
      ),
    ...marginalRss(opts.summaries),
    ...opts.summaries
      .filter((c) => c.streams < 1000)
      .map(
        (c) =>
          `- N=${c.streams} ${c.protocol}: ${fmt(c.rssPerStreamKiB)} KiB RSS per stream, JS heap ${fmt(c.heapPerStreamKiB)} KiB. At this size RSS moves in allocator steps of several MiB (a step is ~45 KiB per stream at N = 100), so it is not a per-stream measurement; the heap figure and the larger sizes are.`,
      ),
  ];
  return [
    SECTION_TITLE,
    '',
    `Produced by \`${opts.command}\`; raw results in \`${opts.resultsFile}\`.`,
    '',
    `Machine: ${m.nproc} cores (\`nproc\`), ${m.cpuModel}, Node ${m.node}; load average ${m.loadAvgStart.map((x) => round(x, 2)).join('/')} at start, ${m.loadAvgEnd.map((x) => round(x, 2)).join('/')} at end.`,
    '',
    `Setup: Spillway runs alone in a child process (\`bench/fanout/spillway-child.ts\` compiled by tsc and run by plain \`node\`, as production runs \`dist/\`; \`--runtime tsx\` runs it through tsx instead, ${opts.services} services, 4 in-house endpoints + 1 Modal endpoint each, log level info written to /dev/null). ` +
      `The load tool (\`bench/fanout/ads-load-client.ts\`) runs in the benchmark process and opens N Envoy-like ADS streams (${opts.streamsPerChannel} per HTTP/2 connection): wildcard CDS → EDS by cluster → LDS → RDS by the HCM's route name, every response ACKed. ` +
      `Each run: start Spillway, open and sync N streams (in two halves of whole connections, measured between them), then change one service's Modal share (\`publisher.setPlan\`, EDS only) ${opts.warmup} times to warm up and ${opts.pushes} times measured, each time waiting until every stream has ACKed the new EDS version.`,
    '',
    'Columns (each: median over runs, range in parentheses; a run\'s value is the median over its measured pushes, "last ACK" the worst measured push):',
    '- **ACK p50 / p99**: per-stream time from the publish call inside Spillway (wall clock stamped by the child) to the stream writing its ACK; **last ACK**: the slowest stream (convergence of all N).',
    "- **server p99**: same, but until Spillway's ADS server processed the ACK (its own view of convergence).",
    "- **CPU/push**: Spillway's user+system CPU from before the publish until it processed the last ACK.",
    "- **first push**: the run's first push after start (cold JIT), p99 and CPU.",
    '- **RSS/stream**: (RSS with N synced streams − RSS with none) / N, both after a full GC; the baseline is taken after 10 streams connected, synced and left, so one-off costs are not charged per stream.',
    "- **sent/push**: resource payload bytes from Spillway's `sent` events; **recv/push**: serialized DiscoveryResponse bytes the load client decoded.",
    '',
    '| streams | protocol | ACK p50 ms | ACK p99 ms | last ACK ms | server p99 ms | CPU/push ms | first push p99 ms | first push CPU ms | RSS/stream KiB | sent/push KiB | recv/push KiB | sync N s |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    "Where the time goes (p99 of each stage, ms after the publish call; steady state). **publish** is the synchronous call (build, validate, encode once, write to the first streams); Spillway writes at most 100 streams per event-loop turn, so **written** is when the p99 stream's CLA was handed to its HTTP/2 stream, **received** when the load tool decoded it, **ACKed** when it wrote the ACK, **server** when Spillway processed that ACK.",
    '',
    '| streams | protocol | publish | written | received | ACKed | server |',
    '|---:|---|---:|---:|---:|---:|---:|',
    ...stageRows,
    '',
    'Targets (2-core machine):',
    ...targetLines,
    '',
    ...opts.notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
}

/** Replaces a section (from its title up to the next "## " heading) or appends it; creates the file if absent. */
export function writeSection(path: string, section: string, title = SECTION_TITLE): void {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === title);
  if (start < 0) {
    writeFileSync(path, `${text.replace(/\n*$/, '\n\n')}${section.replace(/\n*$/, '\n')}`);
    return;
  }
  let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  if (end < 0) end = lines.length;
  const out = [
    ...lines.slice(0, start),
    ...section.replace(/\n*$/, '').split('\n'),
    ...(end < lines.length ? ['', ...lines.slice(end)] : ['']),
  ];
  writeFileSync(path, out.join('\n'));
}
