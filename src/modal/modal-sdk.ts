// The only module that touches the official Modal JS SDK (modal@0.11.1, pinned exactly). It reads
// current stats through the SDK's own gRPC client because getCurrentStats() drops num_running_inputs
// and input_headroom; Modal calls that client internal, so every such use stays in this file.
import type { Function_, Logger as ModalLogger, ModalClient } from 'modal';
import { silentLogger, type Logger } from '../core/logger.js';
import { errorMessage } from '../core/errors.js';
import { ModalFailure } from '../model/inputs.js';
import { ModalCallError, ModalConfigError, ModalUnavailableError, redactSecrets, safeErrorMessage } from './errors.js';
import type { AutoscalerSettings, ModalApi, ModalFunctionHandle, ModalFunctionRef, RawFunctionStats } from './types.js';

export interface ModalSdkOptions {
  /**
   * Explicit token credentials. Without them the SDK resolves credentials the way Modal's own tools do:
   * MODAL_TOKEN_ID / MODAL_TOKEN_SECRET, else the active profile of ~/.modal.toml (or MODAL_CONFIG_PATH).
   * MODAL_SERVER_URL redirects the SDK (e.g. to the fake Modal).
   */
  credentials?: { tokenId: string; tokenSecret: string };
  /** Modal's API address; default MODAL_SERVER_URL or the profile's server_url (the fake Modal in tests and the demo). */
  serverUrl?: string;
  logger?: Logger;
  /**
   * Retries the SDK makes inside one stats call (it retries transient gRPC codes with real-time sleeps).
   * Default 0: the poller's own backoff owns retrying, so a failure is counted where it happens.
   */
  statsRetries?: number;
}

/**
 * Creates a ModalApi over a new ModalClient. The SDK is imported here, lazily, because it parses
 * ~/.modal.toml once at import time: callers (and tests) can set MODAL_CONFIG_PATH before connecting.
 * Never throws for missing credentials: lookup() reports that, naming the service it was for.
 */
export async function connectModalSdk(opts: ModalSdkOptions = {}): Promise<ModalApi> {
  const { ModalClient: Client } = await import('modal');
  const log = (opts.logger ?? silentLogger).child({ component: 'modal-sdk' });
  const secrets: string[] = [];
  if (opts.credentials) secrets.push(opts.credentials.tokenId, opts.credentials.tokenSecret);
  const client = withServerUrl(opts.serverUrl, () => new Client({ ...(opts.credentials ?? {}), logger: sdkLoggerInto(log, secrets) }));
  const p = client.profile;
  for (const s of [p.tokenId, p.tokenSecret, p.oauthRefreshToken, p.oauthClientSecret, p.oauthJwtKey]) {
    if (s) secrets.push(s);
  }
  return new SdkModalApi(client, secrets, opts.statsRetries ?? 0);
}

/**
 * modal@0.11.1 takes its API address only from MODAL_SERVER_URL or the profile (its `endpoint`
 * parameter is declared but unused), and reads it once, in the constructor: set it for exactly that
 * synchronous call and put the environment back.
 */
function withServerUrl<T>(serverUrl: string | undefined, construct: () => T): T {
  if (!serverUrl) return construct();
  const before = process.env['MODAL_SERVER_URL'];
  process.env['MODAL_SERVER_URL'] = serverUrl;
  try {
    return construct();
  } finally {
    if (before === undefined) delete process.env['MODAL_SERVER_URL'];
    else process.env['MODAL_SERVER_URL'] = before;
  }
}

class SdkModalApi implements ModalApi {
  constructor(
    private readonly client: ModalClient,
    private readonly secrets: readonly string[],
    private readonly statsRetries: number,
  ) {}

  async lookup(ref: ModalFunctionRef): Promise<ModalFunctionHandle> {
    this.checkProfile(ref);
    let fn: Function_;
    try {
      fn = await this.client.functions.fromName(
        ref.appName,
        ref.functionName,
        ref.environment !== undefined ? { environment: ref.environment } : {},
      );
    } catch (err) {
      const what = `Modal function '${ref.appName}/${ref.functionName}'`;
      if (err instanceof Error && err.name === 'NotFoundError') throw new ModalConfigError(ref.service, `${what} not found`);
      const message = `looking up ${what} failed: ${safeErrorMessage(err, this.secrets)}`;
      // Only an answer that says the request itself is wrong is permanent; anything else (unreachable,
      // UNAVAILABLE, a timeout, an internal error) may pass, so the caller retries it.
      if (PERMANENT_CODES.has(grpcCodeOf(err) ?? -1)) throw new ModalConfigError(ref.service, message);
      throw new ModalUnavailableError(ref.service, message);
    }
    const webUrl = await fn.getWebUrl();
    return new SdkFunctionHandle(this.client, fn, ref, webUrl, this.secrets, this.statsRetries);
  }

  close(): void {
    this.client.close();
  }

  /** The SDK only notices missing credentials at the first RPC, deep in a retry loop: say it up front. */
  private checkProfile(ref: ModalFunctionRef): void {
    const p = this.client.profile;
    const hasToken = Boolean(p.tokenId && p.tokenSecret);
    const hasOAuth = Boolean(p.oauthRefreshToken && p.oauthClientId && (p.oauthClientSecret || p.oauthJwtKey));
    if (!hasToken && !hasOAuth) {
      throw new ModalConfigError(
        ref.service,
        'no Modal credentials: set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET, or a profile in ~/.modal.toml',
      );
    }
    // nice-grpc turns "http://h:p/" into the target "h:p/:80", which only fails after seconds of retries.
    if (p.serverUrl.endsWith('/')) {
      throw new ModalConfigError(ref.service, `Modal server URL must not end with '/': ${p.serverUrl}`);
    }
  }
}

/**
 * gRPC codes that mean the request cannot succeed as made (grpc.status numbering): INVALID_ARGUMENT,
 * NOT_FOUND, PERMISSION_DENIED, FAILED_PRECONDITION, UNAUTHENTICATED. A token Modal rejects is a
 * configuration error, not an outage.
 */
const PERMANENT_CODES: ReadonlySet<number> = new Set([3, 5, 7, 9, 16]);

/**
 * Codes that say Modal's side failed this time (grpc.status numbering): CANCELLED, UNKNOWN,
 * DEADLINE_EXCEEDED, ABORTED, INTERNAL, UNAVAILABLE. The SDK retries them; so does Spillway.
 */
const TRANSIENT_CODES: ReadonlySet<number> = new Set([1, 2, 4, 10, 13, 14]);

/**
 * The kind of failure an error from the SDK stands for, by its gRPC status. A reply that does not
 * decode is INTERNAL too (grpc-js's "Response message parsing error"), but it is not Modal failing
 * this time: it is other.
 */
function failureOfError(err: unknown): ModalFailure {
  const code = grpcCodeOf(err);
  if (code === 13 && /parsing error/i.test(errorMessage(err))) return ModalFailure.Other;
  return failureOfCode(code);
}

/** The kind of failure a gRPC status code (grpc.status numbering) stands for; undefined: not a status at all. */
function failureOfCode(code: number | undefined): ModalFailure {
  if (code === 8) return ModalFailure.RateLimited; // RESOURCE_EXHAUSTED
  if (code !== undefined && TRANSIENT_CODES.has(code)) return ModalFailure.Unavailable;
  if (code !== undefined && PERMANENT_CODES.has(code)) return ModalFailure.Rejected;
  return ModalFailure.Other;
}

/** The status code of a gRPC client error (the SDK's nice-grpc ClientError), if err is one. */
function grpcCodeOf(err: unknown): number | undefined {
  if (!(err instanceof Error) || err.name !== 'ClientError') return undefined;
  const code = (err as Error & { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

class SdkFunctionHandle implements ModalFunctionHandle {
  readonly functionId: string;

  constructor(
    private readonly client: ModalClient,
    private readonly fn: Function_,
    readonly ref: ModalFunctionRef,
    readonly webUrl: string | undefined,
    private readonly secrets: readonly string[],
    private readonly statsRetries: number,
  ) {
    this.functionId = fn.functionId;
  }

  async currentStats(signal: AbortSignal): Promise<RawFunctionStats> {
    try {
      const reply: unknown = await this.client.cpClient.functionGetCurrentStats(
        { functionId: this.functionId },
        { signal, retries: this.statsRetries },
      );
      return readStatsReply(reply);
    } catch (err) {
      // The original may carry a token: only its redacted text leaves this adapter.
      throw new ModalCallError(failureOfError(err), safeErrorMessage(err, this.secrets));
    }
  }

  async updateAutoscaler(settings: AutoscalerSettings): Promise<AutoscalerSettings> {
    try {
      const current = await this.fn.updateAutoscaler(settings);
      return definedOnly({
        minContainers: current.minContainers,
        maxContainers: current.maxContainers,
        bufferContainers: current.bufferContainers,
        scaledownWindowMs: current.scaledownWindowMs,
      });
    } catch (err) {
      // The original may carry a token: only its redacted text leaves this adapter.
      throw new ModalCallError(failureOfError(err), safeErrorMessage(err, this.secrets));
    }
  }
}

/**
 * Reads the decoded FunctionStats reply. The SDK's decoder fills unset scalars with 0, so a field that is
 * not a number means the SDK itself did not know it (an older SDK or an injected client): report it absent.
 */
function readStatsReply(reply: unknown): RawFunctionStats {
  if (typeof reply !== 'object' || reply === null) throw new Error('Modal stats reply is not an object');
  const r = reply as Record<string, unknown>;
  const backlog = r['backlog'];
  const runners = r['numTotalTasks'];
  if (!isCount(backlog) || !isCount(runners)) throw new Error('Modal stats reply lacks backlog or num_total_tasks');
  const out: RawFunctionStats = { backlog, numTotalRunners: runners };
  const running = r['numRunningInputs'];
  const headroom = r['inputHeadroom'];
  if (isCount(running)) out.numRunningInputs = running;
  if (isCount(headroom)) out.inputHeadroom = headroom;
  return out;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

function definedOnly(s: AutoscalerSettings): AutoscalerSettings {
  const out: AutoscalerSettings = {};
  if (s.minContainers !== undefined) out.minContainers = s.minContainers;
  if (s.maxContainers !== undefined) out.maxContainers = s.maxContainers;
  if (s.bufferContainers !== undefined) out.bufferContainers = s.bufferContainers;
  if (s.scaledownWindowMs !== undefined) out.scaledownWindowMs = s.scaledownWindowMs;
  return out;
}

/** Routes the SDK's own log lines into pino, with any secret scrubbed out of message and arguments. */
function sdkLoggerInto(log: Logger, secrets: readonly string[]): ModalLogger {
  const line = (message: string, args: unknown[]): [Record<string, unknown>, string] => {
    const fields: Record<string, unknown> = {};
    for (let i = 0; i + 1 < args.length; i += 2) {
      const v = args[i + 1];
      fields[String(args[i])] = redactSecrets(v instanceof Error ? v.message : String(v), secrets);
    }
    return [fields, redactSecrets(message, secrets)];
  };
  return {
    debug: (m, ...a) => log.debug(...line(m, a)),
    info: (m, ...a) => log.info(...line(m, a)),
    warn: (m, ...a) => log.warn(...line(m, a)),
    error: (m, ...a) => log.error(...line(m, a)),
  };
}
