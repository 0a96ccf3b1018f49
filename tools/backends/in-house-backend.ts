// One simulated in-house host: an HTTP server with a fixed number of slots and a bounded queue
// (see SlotGate). Every answer, 503s included, names the host (`x-served-by`) and its tier
// (`x-tier: in-house`) so the load generator can tell it from Modal and from Envoy's own replies.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { countBody, requestedBytes, streamBytes } from '../http-bodies.js';
import { serviceTimeSampler, type ServiceTimeOptions } from './service-time.js';
import { SlotGate } from './slot-gate.js';

export interface InHouseBackendOptions extends ServiceTimeOptions {
  /** Reported in `x-served-by`; default 'in-house-1'. */
  name?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Requests served at once; default 8 (the demo config's `capacity`). */
  slots?: number;
  /** Requests waiting for a slot before the host answers 503; default 2 × slots. */
  queue?: number;
  /** Service time when a request carries no `?ms=`; default 0. */
  serviceMs?: number;
}

export interface InHouseBackendState {
  name: string;
  slots: number;
  queueLimit: number;
  inFlight: number;
  queued: number;
  /** Requests answered 200. */
  served: number;
  /** Requests answered 503 because slots and queue were full. */
  rejected: number;
  /** Queued requests whose client left before a slot freed up. */
  abandoned: number;
  /** Requests in service whose client left before the answer (Envoy reset the upstream request). */
  cancelled: number;
  /** WebSocket connections open now. */
  webSockets: number;
  maxInFlight: number;
}

export interface InHouseBackend {
  name: string;
  url: string;
  port: number;
  state(): InHouseBackendState;
  close(): Promise<void>;
}

export const STATE_PATH = '/_backend/state';
export const HEALTH_PATH = '/_backend/health';

export async function startInHouseBackend(opts: InHouseBackendOptions = {}): Promise<InHouseBackend> {
  const name = opts.name ?? 'in-house-1';
  const slots = opts.slots ?? 8;
  const gate = new SlotGate(slots, opts.queue ?? 2 * slots);
  const sample = serviceTimeSampler(opts);
  const defaultMs = opts.serviceMs ?? 0;
  const counters = { served: 0, rejected: 0, abandoned: 0, cancelled: 0, webSockets: 0, maxInFlight: 0 };
  const timers = new Set<NodeJS.Timeout>();

  const state = (): InHouseBackendState => ({
    name,
    slots,
    queueLimit: gate.queueLimit,
    inFlight: gate.inFlight,
    queued: gate.queued,
    ...counters,
  });

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://in-house');
    // Bodies stream through and are counted, never held.
    const body = countBody(req);
    if (url.pathname === STATE_PATH) return sendJson(res, name, 200, state());
    if (url.pathname === HEALTH_PATH) return sendJson(res, name, 200, { ok: true });

    const arrivedAt = performance.now();
    const ticket = gate.tryAcquire();
    if (!ticket) {
      counters.rejected++;
      return sendJson(res, name, 503, { error: 'in-house host overloaded', servedBy: name });
    }
    let started = false;
    res.on('close', () => {
      // The client left before a slot freed up: give its place back. A request already in service runs
      // on, as it would on a real host; its slot frees when the service time is up.
      if (!started) {
        ticket.release();
        counters.abandoned++;
      } else if (!res.writableEnded) counters.cancelled++;
    });
    void ticket.granted.then(() => {
      if (res.destroyed) return ticket.release();
      started = true;
      counters.maxInFlight = Math.max(counters.maxInFlight, gate.inFlight);
      const queuedMs = performance.now() - arrivedAt;
      const requested = Number(url.searchParams.get('ms') ?? defaultMs);
      const serviceMs = sample(Number.isFinite(requested) ? requested : defaultMs);
      const finish = (): void => {
        timers.delete(timer);
        void body.then((received) => {
          ticket.release();
          if (res.destroyed) return;
          counters.served++;
          const download = requestedBytes(url);
          if (download !== undefined) {
            res.writeHead(200, {
              'content-type': 'application/octet-stream',
              'content-length': download,
              'x-served-by': name,
              'x-tier': 'in-house',
            });
            void streamBytes(res, download);
            return;
          }
          sendJson(res, name, 200, {
            servedBy: name,
            tier: 'in-house',
            path: url.pathname,
            host: req.headers.host,
            forwardedHost: req.headers['x-forwarded-host'],
            queuedMs: Math.round(queuedMs),
            serviceMs: Math.round(serviceMs),
            bytesReceived: received.bytes,
          });
        });
      };
      const timer = setTimeout(finish, serviceMs);
      timers.add(timer);
    });
  };

  const server = createServer(handle);
  server.keepAliveTimeout = 60_000;
  // WebSockets echo every message prefixed with the host's name.
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => {
    counters.webSockets++;
    ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `${name}:${data.toString()}`, { binary: isBinary }));
    ws.on('close', () => counters.webSockets--);
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    name,
    port,
    url: `http://${urlHost}:${port}`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sendJson(res: ServerResponse, name: string, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', 'x-served-by': name, 'x-tier': 'in-house' });
  res.end(JSON.stringify(body));
}
