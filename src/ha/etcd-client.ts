// The one place an etcd client is made: the official-enough client (`etcd3`), pointed at the
// configured endpoints with TLS and credentials, every call bounded by a deadline, and fault handling
// tuned for a control plane that must notice etcd coming back within about a second (etcd3's defaults
// back a watch off for up to 30 s and close a host for 5 s after three failures).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import type * as Etcd3Module from 'etcd3';
import type { Etcd3, IOptions, Namespace } from 'etcd3';
import type { EtcdConfig } from '../config/config-types.js';
import { errorMessage } from '../core/errors.js';

// etcd3 (with its own proto-loader and protos, ≈ 10 MiB of RSS) is loaded on the first connection:
// a single Spillway never pays for it.
const require = createRequire(import.meta.url);
let etcd3: typeof Etcd3Module | undefined;
const loadEtcd3 = (): typeof Etcd3Module => (etcd3 ??= require('etcd3') as typeof Etcd3Module);

export interface EtcdConnection {
  readonly client: Etcd3;
  /** Every key of the group, relative to ha.prefix. */
  readonly group: Namespace;
  close(): void;
}

export interface EtcdClientOptions {
  /** Deadline of every unary call (a stream is not bounded). */
  callTimeoutMs: number;
}

/** Thrown when a TLS file cannot be read: names the field and the file, never its content. */
export class EtcdSetupError extends Error {}

export function connectEtcd(cfg: EtcdConfig, prefix: string, opts: EtcdClientOptions): EtcdConnection {
  const { Etcd3, isRecoverableError } = loadEtcd3();
  const options: IOptions = {
    hosts: cfg.endpoints,
    dialTimeout: opts.callTimeoutMs,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + opts.callTimeoutMs }),
    faultHandling: {
      // A failing host is tried again after a second, not five.
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1_000, breaker: new ConsecutiveBreaker(3) }),
      global: retry(handleWhen(isRecoverableError), { maxAttempts: 2 }),
      // A broken watch stream is re-made within a second, not thirty.
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1_000 }).next(),
    },
  };
  const tls = cfg.tls;
  if (tls?.caFile) {
    options.credentials = {
      rootCertificate: readPem(tls.caFile, 'ha.etcd.ca_file'),
      ...(tls.certFile ? { certChain: readPem(tls.certFile, 'ha.etcd.cert_file') } : {}),
      ...(tls.keyFile ? { privateKey: readPem(tls.keyFile, 'ha.etcd.key_file') } : {}),
    };
  }
  if (cfg.auth) options.auth = { username: cfg.auth.username, password: cfg.auth.password };
  const client = new Etcd3(options);
  return { client, group: client.namespace(`${prefix}/`), close: () => client.close() };
}

function readPem(path: string, field: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new EtcdSetupError(`${field}: cannot read ${path}: ${errorMessage(err)}`);
  }
}
