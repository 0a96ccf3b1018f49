// A minimal gRPC client for bidirectional streams over Node's HTTP/2, for the load tool only.
// grpc-js's client stack (resolving, retrying, load-balancing and subchannel calls, interceptors)
// cost the load tool about as much CPU per message as Spillway spent serving it; on a shared 2-core
// box that overhead was half the measured fan-out latency. This speaks the same wire protocol
// (length-prefixed messages, grpc-status trailers) with none of the machinery, so the benchmark
// measures the server. Plain-text (h2c) only, like the tool's previous insecure channel.
import * as http2 from 'node:http2';

export interface CallHandlers {
  /** One complete message; `bytes` is its serialized size. */
  message(bytes: Buffer): void;
  /** The call ended: why, in words (status and message, or the transport error). */
  end(reason: string): void;
}

/** One HTTP/2 connection carrying many calls. */
export class GrpcH2Connection {
  private readonly session: http2.ClientHttp2Session;
  private error = '';

  constructor(target: string) {
    // Large windows: a stream's first CDS/LDS responses should never wait for WINDOW_UPDATEs.
    this.session = http2.connect(`http://${target}`, { settings: { initialWindowSize: 4 << 20 } });
    this.session.on('connect', () => this.session.setLocalWindowSize(64 << 20));
    // Every call on the session reports its own end; the session's error is kept for calls
    // opened after it died.
    this.session.on('error', (err: Error) => {
      this.error = err.message;
    });
  }

  /** Opens a bidirectional streaming call to `path` (/package.Service/Method). */
  open(path: string, handlers: CallHandlers): GrpcH2Call | undefined {
    if (this.session.destroyed || this.session.closed) {
      handlers.end(`connection closed${this.error ? `: ${this.error}` : ''}`);
      return undefined;
    }
    const stream = this.session.request(
      { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' },
      { endStream: false },
    );
    return new GrpcH2Call(stream, handlers);
  }

  close(): void {
    this.session.destroy();
  }
}

export class GrpcH2Call {
  private pending: Buffer = Buffer.alloc(0);
  private status: string | undefined;
  private statusMessage = '';
  private ended = false;

  constructor(
    private readonly stream: http2.ClientHttp2Stream,
    private readonly handlers: CallHandlers,
  ) {
    stream.on('response', (headers) => {
      if (headers[':status'] !== 200) this.finish(`HTTP status ${headers[':status']}`);
      // A trailers-only response (an immediate error) carries grpc-status in the headers.
      this.noteStatus(headers);
    });
    stream.on('trailers', (trailers) => this.noteStatus(trailers));
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', (err: Error) => this.finish(`transport error: ${err.message}`));
    stream.on('close', () =>
      this.finish(
        this.status === undefined
          ? 'stream closed without a status'
          : `status ${this.status}${this.statusMessage ? `: ${this.statusMessage}` : ''}`,
      ),
    );
  }

  /** Writes one message with gRPC's 5-byte prefix (uncompressed flag, big-endian length). */
  write(message: Uint8Array): void {
    if (this.ended || this.stream.destroyed) return;
    const framed = Buffer.allocUnsafe(5 + message.length);
    framed[0] = 0;
    framed.writeUInt32BE(message.length, 1);
    framed.set(message, 5);
    this.stream.write(framed);
  }

  cancel(): void {
    this.ended = true;
    this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }

  private noteStatus(h: http2.IncomingHttpHeaders): void {
    const status = h['grpc-status'];
    if (typeof status === 'string') this.status = status;
    const message = h['grpc-message'];
    if (typeof message === 'string') this.statusMessage = decodeURIComponent(message);
  }

  private onData(chunk: Buffer): void {
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (buf.length >= 5) {
      if (buf[0] !== 0) return this.finish('compressed messages are not supported');
      const length = buf.readUInt32BE(1);
      if (buf.length < 5 + length) break;
      this.handlers.message(buf.subarray(5, 5 + length));
      buf = buf.subarray(5 + length);
    }
    this.pending = buf;
  }

  private finish(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.handlers.end(reason);
  }
}
