// A gRPC client that writes whatever it is told, byte for byte, over Node's HTTP/2 (plaintext or
// TLS with a client certificate): well-formed messages, garbage, broken framing. It can also stop
// reading (a flow-control window of 0), like a stuck client. For the abuse suite and its tests only;
// Envoy and grpc-js are the real clients.
import * as http2 from 'node:http2';

export interface ClientTls {
  ca: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** SNI and the name Spillway's certificate must carry. */
  servername: string;
}

/** How a call ended: the gRPC status (undefined when the transport failed first) and its message. */
export interface CallEnd {
  code: number | undefined;
  message: string;
}

export class RawGrpcConnection {
  readonly session: http2.ClientHttp2Session;
  /** Resolves once connected (TLS handshake done), or with the error that prevented it. */
  readonly ready: Promise<Error | undefined>;

  constructor(target: string, opts: { tls?: ClientTls; neverRead?: boolean } = {}) {
    const settings: http2.Settings = { initialWindowSize: opts.neverRead ? 0 : 4 << 20 };
    this.session = opts.tls
      ? http2.connect(`https://${target}`, {
          settings,
          ca: opts.tls.ca,
          servername: opts.tls.servername,
          ...(opts.tls.cert ? { cert: opts.tls.cert } : {}),
          ...(opts.tls.key ? { key: opts.tls.key } : {}),
        })
      : http2.connect(`http://${target}`, { settings });
    this.ready = new Promise((resolve) => {
      this.session.once('connect', () => resolve(undefined));
      this.session.once('error', (err: Error) => resolve(err));
      this.session.once('close', () => resolve(new Error('connection closed')));
    });
    this.session.on('error', () => {});
  }

  /** Opens a call to /package.Service/Method. */
  open(path: string, opts: { neverRead?: boolean; headers?: Record<string, string> } = {}): RawGrpcCall {
    const stream = this.session.request(
      { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...opts.headers },
      { endStream: false },
    );
    return new RawGrpcCall(stream, opts.neverRead ?? false);
  }

  close(): void {
    this.session.destroy();
  }
}

export class RawGrpcCall {
  /** Complete messages received. */
  readonly messages: Buffer[] = [];
  readonly ended: Promise<CallEnd>;
  private pending: Buffer = Buffer.alloc(0);
  private code: number | undefined;
  private statusMessage = '';
  private onMessage: ((m: Buffer) => void) | undefined;

  constructor(
    readonly stream: http2.ClientHttp2Stream,
    neverRead: boolean,
  ) {
    // The status ends the call even while this side is still open (trailers-only refusals).
    this.ended = new Promise((resolve) => {
      const settle = (): void => resolve({ code: this.code, message: this.statusMessage });
      stream.on('response', (headers) => {
        this.noteStatus(headers);
        if (this.code !== undefined) settle();
      });
      stream.on('trailers', (trailers) => {
        this.noteStatus(trailers);
        settle();
      });
      stream.on('error', (err: Error) => {
        if (this.code === undefined) this.statusMessage ||= err.message;
      });
      stream.on('close', settle);
    });
    if (neverRead) stream.pause();
    else stream.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  /** Calls fn with each message as it arrives (and with those already here). */
  each(fn: (m: Buffer) => void): void {
    this.onMessage = fn;
    for (const m of this.messages) fn(m);
  }

  /** One message with gRPC's 5-byte prefix (uncompressed, big-endian length). */
  send(message: Uint8Array): void {
    const framed = Buffer.allocUnsafe(5 + message.length);
    framed[0] = 0;
    framed.writeUInt32BE(message.length, 1);
    framed.set(message, 5);
    this.sendRaw(framed);
  }

  /** Bytes exactly as given (broken framing included). */
  sendRaw(bytes: Uint8Array): void {
    if (!this.stream.destroyed && !this.stream.writableEnded) this.stream.write(bytes);
  }

  /** Half-closes (the client has nothing more to send). */
  end(): void {
    if (!this.stream.destroyed && !this.stream.writableEnded) this.stream.end();
  }

  /** Resets the stream (RST_STREAM CANCEL), as a client that goes away does. */
  cancel(): void {
    if (!this.stream.destroyed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }

  private noteStatus(h: http2.IncomingHttpHeaders): void {
    const status = h['grpc-status'];
    if (typeof status === 'string') this.code = Number(status);
    const message = h['grpc-message'];
    if (typeof message === 'string') this.statusMessage = decodeURIComponent(message);
  }

  private onData(chunk: Buffer): void {
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (buf.length >= 5) {
      const length = buf.readUInt32BE(1);
      if (buf.length < 5 + length) break;
      const m = Buffer.from(buf.subarray(5, 5 + length));
      this.messages.push(m);
      this.onMessage?.(m);
      buf = buf.subarray(5 + length);
    }
    this.pending = buf;
  }
}

export const ADS_SOTW_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
export const ADS_DELTA_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';
export const LRS_PATH = '/envoy.service.load_stats.v3.LoadReportingService/StreamLoadStats';
