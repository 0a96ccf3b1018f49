import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext, type TLSSocket } from 'node:tls';
import type { TestPki } from '../../tools/pki.js';

export interface BackendHandle {
  name: string;
  port: number;
  /** Requests served, with what the backend saw of each. */
  requests: Array<{ host: string | undefined; sni: string | undefined; path: string }>;
  /**
   * TLS only: full (non-resumed) handshakes, and the SNI names ClientHellos carried. Equal counts
   * mean every full handshake sent SNI; resumed sessions are bound to the SNI of their original one.
   */
  handshakes: { completed: number; sni: string[] };
  inFlight(): number;
  maxInFlight(): number;
  close(): Promise<void>;
}

/** How a backend answers: `?ms=N` holds the response N ms (to make concurrency). */
function handler(name: string, state: State) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    const sni = (req.socket as Partial<TLSSocket>).servername || undefined;
    state.requests.push({ host: req.headers.host, sni: typeof sni === 'string' ? sni : undefined, path: url.pathname });
    state.inFlight++;
    state.max = Math.max(state.max, state.inFlight);
    const ms = Number(url.searchParams.get('ms') ?? 0);
    const finish = (): void => {
      state.inFlight--;
      res.setHeader('x-served-by', name);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ servedBy: name, host: req.headers.host }));
    };
    req.resume();
    if (ms > 0) setTimeout(finish, ms);
    else finish();
  };
}

type State = { inFlight: number; max: number; requests: BackendHandle['requests']; handshakes: BackendHandle['handshakes'] };

async function listen(server: Server, name: string, state: State): Promise<BackendHandle> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  server.keepAliveTimeout = 60_000;
  return {
    name,
    port: (server.address() as AddressInfo).port,
    requests: state.requests,
    handshakes: state.handshakes,
    inFlight: () => state.inFlight,
    maxInFlight: () => state.max,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A plaintext in-house backend that names itself in every response. */
export function startHttpBackend(name: string): Promise<BackendHandle> {
  const state: State = { inFlight: 0, max: 0, requests: [], handshakes: { completed: 0, sni: [] } };
  return listen(createServer(handler(name, state)), name, state);
}

/** A TLS backend standing in for the Modal web endpoint; records SNI and Host of each request. */
export function startTlsBackend(name: string, pki: TestPki): Promise<BackendHandle> {
  const state: State = { inFlight: 0, max: 0, requests: [], handshakes: { completed: 0, sni: [] } };
  const context = createSecureContext({ cert: pki.certPem, key: pki.keyPem });
  const server = createHttpsServer(
    {
      cert: pki.certPem,
      key: pki.keyPem,
      // Called for every ClientHello that carries SNI, resumed sessions included (where the
      // socket's servername is not exposed).
      SNICallback: (servername, cb) => {
        state.handshakes.sni.push(servername);
        cb(null, context);
      },
    },
    handler(name, state),
  );
  server.on('secureConnection', (socket: TLSSocket) => {
    if (!socket.isSessionReused()) state.handshakes.completed++;
  });
  return listen(server, name, state);
}
