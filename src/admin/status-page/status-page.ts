// The live status page: GET /status (a static page: plain HTML, inline script and SVG, no build
// chain), GET /status/events (server-sent events: a PageFrame on every change WatchWeights would
// send, and once a second for the sync table and ages), GET /status/frame.json (one frame). Served
// on the metrics port; the data paths go through the same read check as every admin read.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { ChangeCause, type ReadModel } from '../../control/read-model.js';
import { packageRoot } from '../../core/package-root.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import { every, type Cancel, type Scheduler } from '../../core/scheduler.js';
import type { State } from '../../generated/spillway/admin/v1/State.js';
import { httpAuthorization, type AdminAuth } from '../auth.js';
import type { StateFeed } from '../state-feed.js';
import { buildState } from '../state-view.js';
import { pageFrame, type PageFrame, type SplitPoint } from './page-model.js';
import { SplitHistory } from './split-history.js';

export interface StatusPageOptions {
  read: ReadModel;
  feed: StateFeed;
  auth: AdminAuth;
  scheduler: Scheduler;
  logger?: Logger;
  /** Frames to open pages when nothing changed (sync table, ages), and history samples. Default 1 s. */
  tickMs?: number;
}

interface Client {
  res: ServerResponse;
  /** The transport pushed back: hold the newest frame until it drains. */
  blocked: boolean;
  pending: string | undefined;
}

const PAGE_FILE = join('src', 'admin', 'status-page', 'status-page.html');

export class StatusPage {
  private readonly html: string;
  private readonly csp: string;
  private readonly history = new SplitHistory();
  private readonly clients = new Set<Client>();
  private readonly log: Logger;
  private readonly stopSampling: Cancel;
  private unsubscribe: (() => void) | undefined;
  private stopTicking: Cancel | undefined;

  constructor(private readonly opts: StatusPageOptions) {
    this.log = (opts.logger ?? silentLogger).child({ component: 'status-page' });
    this.html = readFileSync(join(packageRoot(), PAGE_FILE), 'utf8');
    // The one inline script is allowed by its hash; nothing else runs, nothing loads from elsewhere.
    const script = /<script>([\s\S]*?)<\/script>/.exec(this.html)?.[1] ?? '';
    const hash = createHash('sha256').update(script, 'utf8').digest('base64');
    this.csp = `default-src 'none'; script-src 'sha256-${hash}'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'`;
    this.stopSampling = every(opts.scheduler, opts.tickMs ?? 1_000, () => this.sample());
    this.sample();
  }

  /** Serves the page's paths; false for any other path (the caller answers it). */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/status' && path !== '/status/' && path !== '/status/events' && path !== '/status/frame.json') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('GET only\n');
      return true;
    }
    if (path === '/status' || path === '/status/') {
      res
        .writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-cache',
          'content-security-policy': this.csp,
          'x-content-type-options': 'nosniff',
        })
        .end(req.method === 'HEAD' ? undefined : this.html);
      return true;
    }
    const auth = this.opts.auth.checkRead(httpAuthorization(req.headers));
    if (!auth.ok) {
      this.log.warn(
        { path, peer: req.socket.remoteAddress, problem: auth.problem },
        'status page read refused: bad or missing bearer token',
      );
      res
        .writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' })
        .end(JSON.stringify({ error: 'a valid "authorization: Bearer <token>" is required' }));
      return true;
    }
    if (path === '/status/frame.json') {
      const frame = this.frame(buildState(this.opts.read, ChangeCause.Initial), true);
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(frame));
      return true;
    }
    this.open(req, res);
    return true;
  }

  get viewers(): number {
    return this.clients.size;
  }

  close(): void {
    this.stopSampling();
    this.stopLive();
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }

  private open(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const client: Client = { res, blocked: false, pending: undefined };
    this.clients.add(client);
    res.on('drain', () => {
      client.blocked = false;
      const p = client.pending;
      client.pending = undefined;
      if (p) this.write(client, p);
    });
    req.on('close', () => {
      this.clients.delete(client);
      if (this.clients.size === 0) this.stopLive();
    });
    this.write(client, sse(this.frame(buildState(this.opts.read, ChangeCause.Initial), true)));
    if (!this.unsubscribe) {
      this.unsubscribe = this.opts.feed.subscribe((state) => this.broadcast(state));
      this.stopTicking = every(this.opts.scheduler, this.opts.tickMs ?? 1_000, () =>
        this.broadcast(buildState(this.opts.read, ChangeCause.Poll)),
      );
    }
  }

  private stopLive(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.stopTicking?.();
    this.stopTicking = undefined;
  }

  private frame(state: State, withHistory: boolean): PageFrame {
    const frame = pageFrame(state, withHistory ? this.history.snapshot() : undefined);
    for (const [name, p] of Object.entries(frame.points)) this.history.add(name, p);
    return frame;
  }

  private broadcast(state: State): void {
    if (this.clients.size === 0) return;
    const data = sse(this.frame(state, false));
    for (const c of this.clients) this.write(c, data);
  }

  private write(c: Client, data: string): void {
    if (c.blocked) {
      c.pending = data;
      return;
    }
    c.blocked = !c.res.write(data);
  }

  /** History is kept whether or not a page is open, so a page opened now shows the last minutes. */
  private sample(): void {
    const now = this.opts.read.nowMs();
    // Once a second for the life of the process: the shares alone, not whole service views.
    const services = this.opts.read.splits();
    for (const v of services) {
      const p: SplitPoint = [now, v.shares.inHouse, v.shares.modal, v.shares.dropped];
      this.history.add(v.name, p);
    }
    this.history.retain(new Set(services.map((v) => v.name)));
  }
}

const sse = (frame: PageFrame): string => `data: ${JSON.stringify(frame)}\n\n`;
