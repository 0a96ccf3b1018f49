import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  /** Directory holding ca.pem, server.pem and server.key (removed by cleanup()). */
  dir: string;
  caPath: string;
  certPath: string;
  keyPath: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  cleanup(): void;
}

/** How long a throwaway certificate is valid: long enough for a demo left running, short enough to stay throwaway. */
const VALID_DAYS = '30';

/**
 * A throwaway CA and a server certificate for the given DNS names (and 127.0.0.1), made with the
 * openssl CLI. Used for the Modal stand-ins: Envoy reaches Modal over TLS and verifies it.
 */
export function makeTestPki(dnsNames: string[]): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-pki-'));
  const p = (f: string): string => join(dir, f);
  const ossl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'pipe' });
  };
  ossl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.pem'),
    '-days',
    VALID_DAYS,
    '-subj',
    '/CN=Spillway Test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  ossl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    p('server.key'),
    '-out',
    p('server.csr'),
    '-subj',
    `/CN=${dnsNames[0] ?? 'localhost'}`,
  );
  const san = [...dnsNames.map((d) => `DNS:${d}`), 'IP:127.0.0.1'].join(',');
  writeFileSync(p('ext.cnf'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  ossl(
    'x509',
    '-req',
    '-in',
    p('server.csr'),
    '-CA',
    p('ca.pem'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-out',
    p('server.pem'),
    '-days',
    VALID_DAYS,
    '-extfile',
    p('ext.cnf'),
  );
  return {
    dir,
    caPath: p('ca.pem'),
    certPath: p('server.pem'),
    keyPath: p('server.key'),
    caPem: readFileSync(p('ca.pem'), 'utf8'),
    certPem: readFileSync(p('server.pem'), 'utf8'),
    keyPem: readFileSync(p('server.key'), 'utf8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Why a PKI kept in a directory cannot be reused, or undefined when it can. */
export function pkiProblem(dir: string, dnsNames: readonly string[], minValidMs: number, nowMs = Date.now()): string | undefined {
  const file = (f: string): string => join(dir, f);
  for (const f of ['ca.pem', 'server.pem', 'server.key']) if (!existsSync(file(f))) return `${f} is missing`;
  let cert: X509Certificate;
  let ca: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(file('server.pem')));
    ca = new X509Certificate(readFileSync(file('ca.pem')));
    readFileSync(file('server.key'));
  } catch (err) {
    return `unreadable (${err instanceof Error ? err.message : String(err)})`;
  }
  for (const c of [cert, ca]) {
    if (Date.parse(c.validTo) - nowMs < minValidMs) return `certificate ${c.subject.replace(/\n/g, ', ')} expires ${c.validTo}`;
  }
  const sans = new Set((cert.subjectAltName ?? '').split(', ').map((s) => s.replace(/^DNS:/, '')));
  const missing = dnsNames.filter((n) => !sans.has(n));
  if (missing.length > 0) return `server certificate does not name ${missing.join(', ')}`;
  if (!cert.verify(ca.publicKey)) return 'server certificate is not signed by ca.pem';
  return undefined;
}

/**
 * Reuses the PKI kept in dir (ca.pem, server.pem, server.key), or makes a fresh one there when it is
 * missing, unreadable, expiring within minValidMs or does not name every DNS name: a demo run weeks
 * after the first must not fail TLS on a stale certificate.
 */
export function ensurePki(
  dir: string,
  dnsNames: string[],
  minValidMs = 24 * 3_600_000,
): { certPem: string; keyPem: string; caPath: string; renewed?: string } {
  const file = (f: string): string => join(dir, f);
  const problem = pkiProblem(dir, dnsNames, minValidMs);
  if (problem) {
    mkdirSync(dir, { recursive: true });
    const pki = makeTestPki(dnsNames);
    copyFileSync(pki.caPath, file('ca.pem'));
    copyFileSync(pki.certPath, file('server.pem'));
    copyFileSync(pki.keyPath, file('server.key'));
    pki.cleanup();
  }
  return {
    certPem: readFileSync(file('server.pem'), 'utf8'),
    keyPem: readFileSync(file('server.key'), 'utf8'),
    caPath: file('ca.pem'),
    ...(problem ? { renewed: problem } : {}),
  };
}
