// Spillway as the benchmark's child process, so its CPU time and RSS are measured alone. Prints
// {ready, xdsPort} once serving, then answers JSON-line commands on stdin (child-protocol.ts).
// Loaded by spillway-child.ts, the entry point.
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { startSpillway } from '../../src/app/spillway-app.js';
import { createLogger } from '../../src/core/logger.js';
import { planForShare } from '../../src/model/traffic-plan.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import type { ChildCommand, ChildReady, ChildReply } from './child-protocol.js';
import { CpuProfiler } from './cpu-profiler.js';
import { fanoutConfig } from './fanout-config.js';
import { wallMs } from './wall-clock.js';

const services = Number(process.argv[2] ?? 10);
// Production log level, written nowhere: log calls still cost what they cost in production.
const logger = createLogger({ level: process.env['SPILLWAY_LOG_LEVEL'] ?? 'info', destination: createWriteStream('/dev/null') });
const app = await startSpillway(fanoutConfig(services), { logger });

let sentResponses = 0;
let sentBytes = 0;
/** EDS version → publish stamp and the ACK times seen for it (bounded to recent versions). */
/** The push being published right now (its version is not known until the call returns). */
let pending: { publishAtMs: number; latenciesMs: number[]; sentMs: number[] } | undefined;
const pushes = new Map<string, { publishAtMs: number; latenciesMs: number[]; sentMs: number[] }>();
app.events.on((e) => {
  if (e.kind === 'sent') {
    sentResponses++;
    sentBytes += e.bytes;
    if (e.typeUrl === TypeUrl.Endpoint) {
      const p = pending ?? pushes.get(e.version);
      if (p) p.sentMs.push(wallMs() - p.publishAtMs);
    }
  } else if (e.kind === 'ack' && e.typeUrl === TypeUrl.Endpoint) {
    const p = pushes.get(e.version);
    if (p) p.latenciesMs.push(wallMs() - p.publishAtMs);
  }
});

const gc = (globalThis as { gc?: () => void }).gc;
const profiler = new CpuProfiler();

function handle(c: ChildCommand): ChildReply | Promise<ChildReply> {
  switch (c.cmd) {
    case 'stats': {
      // Twice: the second pass collects what the first one's finalisers released.
      if (c.gc && gc) {
        gc();
        gc();
      }
      const cpu = process.cpuUsage();
      const mem = process.memoryUsage();
      return {
        id: c.id,
        cpuUserUs: cpu.user,
        cpuSystemUs: cpu.system,
        rss: mem.rss,
        heapUsed: mem.heapUsed,
        streams: app.ads.connectedStreams(),
        sentResponses,
        sentBytes,
      };
    }
    case 'set-share': {
      const publishAtMs = wallMs();
      // The version is not known before publishing; ACK events for it cannot arrive before this
      // synchronous call returns (they need the event loop), so registering afterwards misses none.
      // Registered under the version about to be published, so the synchronous part of the fan-out
      // (the first streams' 'sent' events) is recorded too.
      const entry = { publishAtMs, latenciesMs: [] as number[], sentMs: [] as number[] };
      pending = entry;
      const r = app.publisher.setPlan(c.service, planForShare(c.share));
      pending = undefined;
      const publishReturnedAtMs = wallMs();
      const edsVersion = app.cache.current()?.types[TypeUrl.Endpoint].version ?? '';
      pushes.set(edsVersion, entry);
      if (pushes.size > 64) pushes.delete(pushes.keys().next().value as string);
      return { id: c.id, ok: r.ok && r.changed.has(TypeUrl.Endpoint), publishAtMs, publishReturnedAtMs, edsVersion };
    }
    case 'acks': {
      const p = pushes.get(c.version);
      return { id: c.id, count: p?.latenciesMs.length ?? 0, latenciesMs: p?.latenciesMs ?? [], sentMs: p?.sentMs ?? [] };
    }
    case 'profile-start':
      return profiler.start().then(() => ({ id: c.id }));
    case 'profile-stop':
      return profiler.stop(c.path).then(() => ({ id: c.id }));
    case 'set':
      return { id: c.id, error: 'Spillway builds its own resources: use set-share' };
    case 'exit':
      void app.stop().then(() => process.exit(0));
      return { id: c.id };
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let id = -1;
  const fail = (err: unknown): ChildReply => ({ id, error: err instanceof Error ? err.message : String(err) });
  const write = (reply: ChildReply): void => void process.stdout.write(`${JSON.stringify(reply)}\n`);
  try {
    const command = JSON.parse(line) as ChildCommand;
    id = command.id;
    const reply = handle(command);
    if (reply instanceof Promise) reply.then(write, (err: unknown) => write(fail(err)));
    else write(reply);
  } catch (err) {
    write(fail(err));
  }
});
// The parent died or closed our stdin: do not linger.
lines.on('close', () => void app.stop().then(() => process.exit(0)));

const ready: ChildReady = { ready: true, xdsPort: app.xdsPort, pid: process.pid };
process.stdout.write(`${JSON.stringify(ready)}\n`);
