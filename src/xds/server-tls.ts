// TLS for Spillway's ports, with certificates rotated on disk picked up without a restart: the gRPC
// ports through grpc-js's certificate providers, the metrics port's HTTPS through the same
// ReloadingCertificates (metrics/metrics-server.ts). grpc-js
// (experimental.createCertificateProviderServerCredentials) re-keys its HTTP/2 server whenever a
// CertificateProvider announces new material; open connections keep the session they have. Its own
// FileWatcherCertificateProvider announces whatever it read, and grpc-js then refuses every new
// handshake when a half-written pair (new certificate, old key) fails to load. This provider
// announces a pair only once it loads, and otherwise keeps the last good one and says so in the log.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { TlsFilesConfig } from '../config/security-config.js';
import { errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { every, realScheduler, type Cancel, type Scheduler } from '../core/scheduler.js';

type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

interface Material {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | undefined;
  /** Hash over all three files: unchanged content is not re-announced. */
  digest: string;
}

/** Why a TLS file set cannot be used; names the config field (never the file's content). */
export class TlsFilesError extends Error {}

export interface ServerTlsOptions {
  /** Config path of the block (xds.tls, admin.tls, metrics.tls): what errors and logs name. */
  path: string;
  scheduler?: Scheduler;
  logger?: Logger;
}

export class ReloadingCertificates implements grpc.experimental.CertificateProvider {
  private current: Material;
  /** The serving certificate's notAfter (ms since the epoch), read once per certificate in describe(). */
  private notAfter: number | undefined;
  private lastRefused = '';
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly log: Logger;
  private cancelTimer: Cancel;

  /** Loads the files now: a missing or unusable file throws TlsFilesError naming the field. */
  constructor(
    private readonly files: TlsFilesConfig,
    private readonly opts: ServerTlsOptions,
  ) {
    this.log = (opts.logger ?? silentLogger).child({ component: 'tls', tls: opts.path });
    this.current = this.load();
    this.log.info({ ...this.describe(this.current), mutual: files.clientCaFile !== undefined }, 'TLS certificate loaded');
    this.cancelTimer = every(opts.scheduler ?? realScheduler, files.reloadIntervalMs, () => void this.reload());
  }

  /** Re-reads the files; a changed set that loads is announced, one that does not is logged once and ignored. */
  reload(): boolean {
    let next: Material;
    try {
      next = this.load();
    } catch (err) {
      const problem = errorMessage(err);
      if (problem !== this.lastRefused) {
        this.lastRefused = problem;
        this.log.warn({ problem }, 'TLS files changed but do not load; the previous certificate keeps serving');
      }
      return false;
    }
    this.lastRefused = '';
    if (next.digest === this.current.digest) return false;
    this.current = next;
    this.log.info(this.describe(next), 'TLS certificate rotated; new handshakes use it');
    for (const l of this.identityListeners) l({ certificate: next.cert, privateKey: next.key });
    if (next.ca) for (const l of this.caListeners) l({ caCertificate: next.ca });
    return true;
  }

  close(): void {
    this.cancelTimer();
  }

  /** When the certificate serving now stops being valid (its notAfter), ms since the epoch; undefined if unreadable. */
  notAfterMs(): number | undefined {
    return this.notAfter;
  }

  /** The certificate, key and client CA serving now (the last set that loaded). */
  material(): { cert: Buffer; key: Buffer; ca: Buffer | undefined } {
    const { cert, key, ca } = this.current;
    return { cert, key, ca };
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    const ca = this.current.ca;
    if (ca) process.nextTick(() => listener({ caCertificate: ca }));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    const { cert, key } = this.current;
    process.nextTick(() => listener({ certificate: cert, privateKey: key }));
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }

  private load(): Material {
    const { path } = this.opts;
    const cert = readTlsFile(this.files.certFile, `${path}.cert_file`);
    const key = readTlsFile(this.files.keyFile, `${path}.key_file`);
    const ca = this.files.clientCaFile === undefined ? undefined : readTlsFile(this.files.clientCaFile, `${path}.client_ca_file`);
    try {
      createSecureContext({ cert, key, ...(ca ? { ca } : {}) });
    } catch (err) {
      // OpenSSL's messages name the problem ("key values mismatch"), never the key.
      throw new TlsFilesError(`${path}: certificate, key and CA do not load together: ${errorMessage(err)}`);
    }
    const digest = createHash('sha256')
      .update(cert)
      .update('\0')
      .update(key)
      .update('\0')
      .update(ca ?? '')
      .digest('hex');
    return { cert, key, ca, digest };
  }

  /** What the log says of the certificate now serving; also notes its notAfter (one parse per certificate). */
  private describe(m: Material): Record<string, string> {
    this.notAfter = undefined;
    try {
      const x = new X509Certificate(m.cert);
      const ms = Date.parse(x.validTo);
      if (Number.isFinite(ms)) this.notAfter = ms;
      return { subject: x.subject.replace(/\n/g, ', '), notAfter: x.validTo, fingerprint: x.fingerprint256 };
    } catch {
      return {};
    }
  }
}

function readTlsFile(file: string, field: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TlsFilesError(`${field}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

export interface ServerCredentialsHandle {
  credentials: grpc.ServerCredentials;
  /** Stops re-reading the files. */
  close(): void;
  /** Re-reads now (tests; the timer does this every reload_interval_ms). */
  reload(): boolean;
  /** When the certificate serving now expires (ms since the epoch); undefined in plaintext. */
  notAfterMs(): number | undefined;
}

/** Plaintext without a tls block; otherwise TLS (mutual with a client CA) that follows the files. */
export function serverCredentials(tls: TlsFilesConfig | undefined, opts: ServerTlsOptions): ServerCredentialsHandle {
  if (!tls)
    return { credentials: grpc.ServerCredentials.createInsecure(), close: () => {}, reload: () => false, notAfterMs: () => undefined };
  const certs = new ReloadingCertificates(tls, opts);
  // grpc-js's declaration names the two providers the other way round; its implementation takes
  // (identity, CA or null, require client certificate).
  const credentials = grpc.experimental.createCertificateProviderServerCredentials(
    certs,
    tls.clientCaFile !== undefined ? certs : null,
    tls.requireClientCert,
  );
  return { credentials, close: () => certs.close(), reload: () => certs.reload(), notAfterMs: () => certs.notAfterMs() };
}
