// The fake Modal's web side: the endpoint Envoy overflows to. Plain HTTP glue over the AutoscalerSim;
// the same handler serves HTTP and HTTPS. It also carries the fake's own API under /_fake/.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Cancel } from '../../src/core/scheduler.js';
import { countBody, requestedBytes, streamBytes, type ReceivedBody } from '../http-bodies.js';
import type { InputOutcome } from './autoscaler-sim.js';
import type { FakeFunction, FakeModalState } from './fake-modal-state.js';
import { parseFaults } from './faults.js';

export interface WebHandlerOptions {
  state: FakeModalState;
  /** Modal answers 303 to a request still running after 150 s (guide/webhook-timeouts). */
  redirectAfterMs: number;
  /** Service time when a request names none (?ms=). */
  defaultServiceMs: number;
  random: () => number;
}

/** The query parameter of Modal's result URL; the older docs name it so (guide/webhook-timeouts). */
export const RESULT_PARAM = '__modal_function_call_id';
/** Names the container that served a response. */
export const CONTAINER_HEADER = 'x-modal-container';

/** Modal's web endpoint request body limit (guide/webhooks): 4 GiB. */
export const MAX_BODY_BYTES = 4 * 1024 ** 3;

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export function createWebHandler(opts: WebHandlerOptions): RequestHandler {
  const { state } = opts;
  const pendingCalls = new Map<string, { fn: FakeFunction; done: Promise<InputOutcome> }>();
  let callSeq = 0;

  /**
   * Waits for the outcome (and the whole request body) up to the redirect threshold; past it, hands
   * out (or re-hands) the result URL. A client that leaves before that cancels the input, unless it
   * was already waiting on a result URL (it may come back for it).
   */
  const respondWhenDone = (
    res: ServerResponse,
    url: URL,
    fn: FakeFunction,
    callId: string,
    done: Promise<InputOutcome>,
    body: Promise<ReceivedBody>,
    cancelInput?: () => void,
  ): void => {
    let cancelRedirect: Cancel = () => {};
    let settled = false;
    cancelRedirect = state.scheduler.after(state.currentFaults().redirectAfterMs ?? opts.redirectAfterMs, () => {
      if (settled) return;
      settled = true;
      pendingCalls.set(callId, { fn, done });
      const location = new URL(url);
      location.searchParams.set(RESULT_PARAM, callId);
      res.writeHead(303, { location: location.toString(), 'content-type': 'application/json' });
      res.end(JSON.stringify({ result_url: location.toString() }));
    });
    void Promise.all([done, body]).then(([outcome, received]) => {
      if (settled) return;
      settled = true;
      cancelRedirect();
      pendingCalls.delete(callId);
      writeOutcome(res, fn, outcome, state.clock.nowMs(), received, requestedBytes(url));
    });
    res.on('close', () => {
      if (res.writableEnded || settled) return;
      settled = true;
      cancelRedirect();
      if (cancelInput) cancelInput();
      else pendingCalls.set(callId, { fn, done });
    });
  };

  return (req, res) => {
    const host = req.headers.host ?? 'localhost';
    const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
    const url = new URL(req.url ?? '/', `${scheme}://${host}`);
    if (url.pathname.startsWith('/_fake/')) {
      handleFakeApi(req, res, url, state);
      return;
    }
    const faults = state.currentFaults();
    if (faults.outage) return reject(req, res, 503, { error: 'fake modal: outage' });
    if (!state.rateLimiter.take()) return reject(req, res, 429, { error: 'rate limit exceeded for this workspace' });
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return reject(req, res, 413, { error: 'request body over 4 GiB' });
    const fn = pickFunction(state, req, host);
    if (!fn) return reject(req, res, 404, { error: 'no such function' });
    if (faults.webErrorRate && opts.random() < faults.webErrorRate) {
      return reject(req, res, faults.webErrorStatus ?? 500, { error: 'fake modal: injected web error' });
    }
    // Bodies stream through and are counted, never held: uploads may be up to 4 GiB.
    const body = countBody(req);
    const resultId = url.searchParams.get(RESULT_PARAM);
    if (resultId !== null) {
      const pending = pendingCalls.get(resultId);
      if (!pending) return sendJson(res, 404, { error: `unknown function call ${resultId}` });
      pendingCalls.delete(resultId);
      url.searchParams.delete(RESULT_PARAM);
      return respondWhenDone(res, url, pending.fn, resultId, pending.done, body);
    }
    const ms = Number(url.searchParams.get('ms') ?? opts.defaultServiceMs);
    const sessionId = header(req, 'modal-session-id');
    const ticket = fn.sim.submit({
      serviceMs: Number.isFinite(ms) ? ms : opts.defaultServiceMs,
      ...(sessionId !== undefined ? { sessionId } : {}),
    });
    respondWhenDone(res, url, fn, `fc-${++callSeq}`, ticket.done, body, () => fn.sim.cancel(ticket.id));
  };
}

/**
 * WebSocket upgrades: each connection is one input that holds a container slot while it is open
 * (billed as such) and echoes every message prefixed with the container's id.
 */
export function createUpgradeHandler(state: FakeModalState): UpgradeHandler {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 2 * 1024 * 1024 }); // Modal: 2 MiB per message
  return (req, socket, head) => {
    const refuse = (status: number, text: string): void => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
    };
    if (state.currentFaults().outage) return refuse(503, 'Service Unavailable');
    if (!state.rateLimiter.take()) return refuse(429, 'Too Many Requests');
    const fn = pickFunction(state, req, req.headers.host ?? 'localhost');
    if (!fn) return refuse(404, 'Not Found');
    const sessionId = header(req, 'modal-session-id');
    let inputId = '';
    let upgraded = false;
    const ticket = fn.sim.submit({
      serviceMs: Infinity,
      ...(sessionId !== undefined ? { sessionId } : {}),
      onStart: (containerId) => {
        if (socket.destroyed) return void fn.sim.cancel(inputId);
        upgraded = true;
        wss.handleUpgrade(req, socket, head, (ws) => {
          ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `${containerId}:${data.toString()}`, { binary: isBinary }));
        });
      },
    });
    inputId = ticket.id;
    // Open, the connection is the input; gone before a container took it, the input is cancelled.
    socket.once('close', () => (upgraded ? fn.sim.release(inputId) : fn.sim.cancel(inputId)));
    void ticket.done.then((o) => {
      if (o.kind === 'rejected') refuse(503, 'Service Unavailable');
    });
  };
}

function writeOutcome(
  res: ServerResponse,
  fn: FakeFunction,
  outcome: InputOutcome,
  nowMs: number,
  received: ReceivedBody,
  download: number | undefined,
): void {
  switch (outcome.kind) {
    case 'done':
      if (download !== undefined) {
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          [CONTAINER_HEADER]: outcome.containerId,
          'content-length': download,
        });
        void streamBytes(res, download);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', [CONTAINER_HEADER]: outcome.containerId });
      res.end(
        JSON.stringify({
          container: outcome.containerId,
          function: `${fn.appName}/${fn.functionName}`,
          input: outcome.inputId,
          queuedMs: outcome.startedAtMs - outcome.enqueuedAtMs,
          serviceMs: outcome.finishedAtMs - outcome.startedAtMs,
          finishedAtMs: outcome.finishedAtMs,
          bytesReceived: received.bytes,
          nowMs,
        }),
      );
      return;
    case 'rejected':
      // An HTTP Server with no live replica: clients are expected to retry (examples/http_server).
      return sendJson(res, 503, { error: 'no live replicas', input: outcome.inputId });
    case 'cancelled':
      return sendJson(res, 503, { error: 'input cancelled', input: outcome.inputId });
  }
}

/** By x-fake-modal-function "app/fn", else a Host of the form "app--fn.<anything>", else the first function. */
function pickFunction(state: FakeModalState, req: IncomingMessage, host: string): FakeFunction | undefined {
  const explicit = header(req, 'x-fake-modal-function');
  if (explicit !== undefined) {
    const [app, name] = explicit.split('/', 2);
    return state.byName(app ?? '', name ?? '');
  }
  const label = host.split('.')[0] ?? '';
  const sep = label.indexOf('--');
  if (sep > 0) {
    const f = state.byName(label.slice(0, sep), label.slice(sep + 2));
    if (f) return f;
  }
  return state.functions[0];
}

function handleFakeApi(req: IncomingMessage, res: ServerResponse, url: URL, state: FakeModalState): void {
  const route = `${req.method ?? 'GET'} ${url.pathname}`;
  if (route === 'GET /_fake/state') return sendJson(res, 200, state.view());
  if (route === 'GET /_fake/faults') return sendJson(res, 200, state.currentFaults());
  if (route === 'POST /_fake/faults' || route === 'POST /_fake/deploy') {
    readBody(req)
      .then((text) => {
        if (route === 'POST /_fake/deploy') {
          state.redeploy();
          return sendJson(res, 200, state.view());
        }
        state.setFaults(parseFaults(text.trim() === '' ? {} : JSON.parse(text)));
        sendJson(res, 200, state.currentFaults());
      })
      .catch((err: unknown) => sendJson(res, 400, { error: err instanceof Error ? err.message : String(err) }));
    return;
  }
  sendJson(res, 404, { error: `no route ${route}` });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 64 * 1024) reject(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Answers at once, draining whatever body the client still sends. */
function reject(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  req.resume();
  sendJson(res, status, body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
