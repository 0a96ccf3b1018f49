import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    '2',
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
    '2',
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
