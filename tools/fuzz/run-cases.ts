// Runs fuzz cases against a Spillway, a bounded number at a time, and records how each call ended:
// served (responses and no status), quiet (neither), refused (a gRPC status) or transport (the
// connection failed before any status). A refusal must carry a status that names the problem;
// anything else is a violation, listed with the case's kind and index so it replays alone.
import * as grpc from '@grpc/grpc-js';
import { CaseKind, generateCase, type FuzzCase, type FuzzTarget } from './cases.js';
import { RawGrpcConnection, type ClientTls } from './raw-grpc.js';

export type Result = 'served' | 'quiet' | 'refused' | 'transport';

export interface Outcome {
  kind: CaseKind;
  index: number;
  mutation: string;
  result: Result;
  code?: number;
  message: string;
  /** From the first frame written to how the call ended. */
  ms: number;
}

/** One side of the target: where to connect and as whom. */
export interface Endpoint {
  address: string;
  tls?: ClientTls;
}

/** A node identity the fuzzer holds: its certificate and the node id it carries. */
export interface Identity {
  node: string;
  tls?: ClientTls;
}

export interface RunOptions {
  seed: number;
  counts: Partial<Record<CaseKind, number>>;
  xds: string;
  admin: Endpoint;
  identities: readonly Identity[];
  target: Omit<FuzzTarget, 'ownNode'>;
  /** Calls in flight at once (kept under the per-node stream limit per identity). */
  concurrency?: number;
  /** Only this case (replay). */
  only?: { kind: CaseKind; index: number };
  onOutcome?: (o: Outcome) => void;
}

/**
 * What a status must say: the limit or rule (its config path), the field, or the message type that
 * did not decode. grpc-js answers a few framing errors itself, before Spillway sees a message;
 * their wordings name the problem too and are accepted as they are.
 */
const NAMED = [
  /\b(xds|lrs|admin)\.(limits\.[a-z_]+|node_identity|reporters)\b/,
  /^not a valid [A-Za-z]+: /,
  /^(service|endpoint|share|duration|reason): /,
  /type_url/,
  /node\.id/,
  /: a valid "authorization: Bearer <token>"/,
];
const GRPC_JS_FRAMING = [
  /^Received message larger than max \(\d+ vs\.? \d+\)$/,
  /^Received message that decompresses to a size larger than \d+$/,
  /^Failed to decompress message$/,
  /^Received message compressed with unsupported encoding "[^"]*"$/,
];
const REFUSAL_CODES = new Set<number>([
  grpc.status.INVALID_ARGUMENT,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.PERMISSION_DENIED,
  grpc.status.UNAUTHENTICATED,
]);

/** Whether a status is a proper refusal: a client-error code and a message that names the problem. */
export function namesProblem(code: number, message: string): boolean {
  if (GRPC_JS_FRAMING.some((re) => re.test(message))) return true;
  return REFUSAL_CODES.has(code) && NAMED.some((re) => re.test(message));
}

export function isViolation(o: Outcome): boolean {
  if (o.result === 'refused') return o.code !== grpc.status.OK && !namesProblem(o.code ?? -1, o.message);
  return false;
}

/**
 * Connections reused for a while, then replaced: every case ends its call with RST_STREAM, and
 * Node's HTTP/2 server answers a connection that resets streams too fast (the "rapid reset" attack)
 * with GOAWAY ENHANCE_YOUR_CALM. That protects the server; the fuzzer spreads its calls instead.
 */
class ConnectionPool {
  private readonly conns = new Map<string, { conn: RawGrpcConnection; uses: number; gone: boolean }>();

  constructor(private readonly usesPerConnection = 10) {}

  get(address: string, tls: ClientTls | undefined, key: string): RawGrpcConnection {
    const c = this.conns.get(key);
    if (c && !c.gone && c.uses < this.usesPerConnection && !c.conn.session.closed && !c.conn.session.destroyed) {
      c.uses++;
      return c.conn;
    }
    // The old one closes once its calls are done (they hold it open until then).
    if (c) setTimeout(() => c.conn.close(), 6000).unref();
    const entry = { conn: new RawGrpcConnection(address, tls ? { tls } : {}), uses: 1, gone: false };
    entry.conn.session.once('goaway', () => (entry.gone = true));
    this.conns.set(key, entry);
    return entry.conn;
  }

  close(): void {
    for (const c of this.conns.values()) c.conn.close();
    this.conns.clear();
  }
}

/**
 * Sends one case on conn and waits for how it ends: a status; or, once something came, quiet for
 * settleMs; or nothing at all for firstMs (a valid request that owes no answer, e.g. a stale nonce).
 * A half-closed call (unary) waits for its status.
 */
export async function runCase(conn: RawGrpcConnection, c: FuzzCase, settleMs = 150, firstMs = 1000, maxMs = 5000): Promise<Outcome> {
  const connectError = await conn.ready;
  const started = Date.now();
  if (connectError)
    return { kind: c.kind, index: c.index, mutation: c.mutation, ms: 0, result: 'transport', message: connectError.message };
  let call;
  try {
    call = conn.open(c.path, { headers: c.headers });
  } catch (err) {
    return {
      kind: c.kind,
      index: c.index,
      mutation: c.mutation,
      ms: 0,
      result: 'transport',
      message: err instanceof Error ? err.message : String(err),
    };
  }
  for (const f of c.frames) call.sendRaw(f);
  if (c.halfClose) call.end();
  let lastMessages = -1;
  let quietSince = Date.now();
  const deadline = Date.now() + maxMs;
  const ended = await new Promise<{ code: number | undefined; message: string; ms: number } | undefined>((resolve) => {
    void call.ended.then((e) => resolve({ ...e, ms: Date.now() - started }));
    const poll = setInterval(() => {
      const now = Date.now();
      if (call.messages.length !== lastMessages) {
        lastMessages = call.messages.length;
        quietSince = now;
      }
      const waited = call.messages.length > 0 ? settleMs : c.halfClose ? maxMs : firstMs;
      if (now - quietSince >= waited || now > deadline) {
        clearInterval(poll);
        resolve(undefined);
      }
    }, 25);
    void call.ended.then(() => clearInterval(poll));
  });
  call.cancel();
  const id = { kind: c.kind, index: c.index, mutation: c.mutation };
  if (!ended) return { ...id, ms: Date.now() - started, result: call.messages.length > 0 ? 'served' : 'quiet', message: '' };
  const at = { ...id, ms: ended.ms, message: ended.message };
  if (ended.code === undefined) return { ...at, result: 'transport' };
  if (ended.code === grpc.status.OK) return { ...at, result: 'served', code: ended.code };
  return { ...at, result: 'refused', code: ended.code };
}

/** Every case of every kind, `concurrency` at a time; resolves with all outcomes. */
export async function runCases(opts: RunOptions): Promise<Outcome[]> {
  const pool = new ConnectionPool();
  const jobs: Array<{ kind: CaseKind; index: number }> = [];
  if (opts.only) jobs.push(opts.only);
  else for (const kind of Object.values(CaseKind)) for (let i = 0; i < (opts.counts[kind] ?? 0); i++) jobs.push({ kind, index: i });
  // Interleave kinds so every kind meets every other's side effects.
  jobs.sort((a, b) => a.index - b.index || a.kind.localeCompare(b.kind));
  const outcomes: Outcome[] = [];
  let next = 0;
  const worker = async (w: number): Promise<void> => {
    const identity = opts.identities[w % opts.identities.length]!;
    for (let j = next++; j < jobs.length; j = next++) {
      const { kind, index } = jobs[j]!;
      const c = generateCase(kind, opts.seed, index, { ...opts.target, ownNode: identity.node });
      const conn =
        kind === CaseKind.Admin
          ? pool.get(opts.admin.address, opts.admin.tls, `admin-${w % 4}`)
          : pool.get(opts.xds, identity.tls, `xds-${w}`);
      const o = await runCase(conn, c);
      outcomes.push(o);
      opts.onOutcome?.(o);
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency ?? 12 }, (_, w) => worker(w)));
  } finally {
    pool.close();
  }
  return outcomes;
}
