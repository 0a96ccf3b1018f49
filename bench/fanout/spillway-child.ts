// Spillway as the benchmark's child process, so its CPU time and RSS are measured alone. Prints
// {ready, xdsPort} once serving, then answers JSON-line commands on stdin (child-protocol.ts).
// Run with: node --expose-gc --import tsx bench/fanout/spillway-child.ts [services]
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { startSpillway } from '../../src/app/spillway-app.js';
import { createLogger } from '../../src/core/logger.js';
import { planForModalShare } from '../../src/resources/traffic-plan.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import type { ChildCommand, ChildReady, ChildReply } from './child-protocol.js';
import { fanoutConfig } from './fanout-config.js';
import { wallMs } from './wall-clock.js';

const services = Number(process.argv[2] ?? 10);
// Production log level, written nowhere: log calls still cost what they cost in production.
const logger = createLogger({ level: process.env['SPILLWAY_LOG_LEVEL'] ?? 'info', destination: createWriteStream('/dev/null') });
const app = await startSpillway(fanoutConfig(services), { logger });

let sentResponses = 0;
let sentBytes = 0;
/** EDS version → publish stamp and the ACK times seen for it (bounded to recent versions). */
const pushes = new Map<string, { publishAtMs: number; latenciesMs: number[] }>();
app.events.on((e) => {
  if (e.kind === 'sent') {
    sentResponses++;
    sentBytes += e.bytes;
  } else if (e.kind === 'ack' && e.typeUrl === TypeUrl.Endpoint) {
    const p = pushes.get(e.version);
    if (p) p.latenciesMs.push(wallMs() - p.publishAtMs);
  }
});

const gc = (globalThis as { gc?: () => void }).gc;

function handle(c: ChildCommand): ChildReply {
  switch (c.cmd) {
    case 'stats': {
      // Twice: the second pass collects what the first one's finalisers released.
      if (c.gc && gc) {
        gc();
        gc();
      }
      const cpu = process.cpuUsage();
      const mem = process.memoryUsage();
      return { id: c.id, cpuUserUs: cpu.user, cpuSystemUs: cpu.system, rss: mem.rss, heapUsed: mem.heapUsed, streams: app.ads.connectedStreams(), sentResponses, sentBytes };
    }
    case 'set-share': {
      const publishAtMs = wallMs();
      // The version is not known before publishing; ACK events for it cannot arrive before this
      // synchronous call returns (they need the event loop), so registering afterwards misses none.
      const r = app.publisher.setPlan(c.service, planForModalShare(c.share));
      const publishReturnedAtMs = wallMs();
      const edsVersion = app.cache.current()?.types[TypeUrl.Endpoint].version ?? '';
      pushes.set(edsVersion, { publishAtMs, latenciesMs: [] });
      if (pushes.size > 64) pushes.delete(pushes.keys().next().value as string);
      return { id: c.id, ok: r.ok && r.changed.has(TypeUrl.Endpoint), publishAtMs, publishReturnedAtMs, edsVersion };
    }
    case 'acks': {
      const p = pushes.get(c.version);
      return { id: c.id, count: p?.latenciesMs.length ?? 0, latenciesMs: p?.latenciesMs ?? [] };
    }
    case 'exit':
      void app.stop().then(() => process.exit(0));
      return { id: c.id };
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let reply: ChildReply;
  try {
    reply = handle(JSON.parse(line) as ChildCommand);
  } catch (err) {
    reply = { id: -1, error: err instanceof Error ? err.message : String(err) };
  }
  process.stdout.write(`${JSON.stringify(reply)}\n`);
});
// The parent died or closed our stdin: do not linger.
lines.on('close', () => void app.stop().then(() => process.exit(0)));

const ready: ChildReady = { ready: true, xdsPort: app.xdsPort, pid: process.pid };
process.stdout.write(`${JSON.stringify(ready)}\n`);
