import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensurePki, pkiProblem } from '../../tools/pki.js';

describe('the demo PKI kept on disk', () => {
  const dirs: string[] = [];
  const fresh = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'spillway-pki-test-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('is made when missing, then reused as long as it is good', () => {
    const dir = fresh();
    const first = ensurePki(dir, ['localhost', 'a.modal.run']);
    expect(first.renewed).toBe('ca.pem is missing');
    const again = ensurePki(dir, ['localhost', 'a.modal.run']);
    expect(again.renewed).toBeUndefined();
    expect(again.certPem).toBe(first.certPem);
  });

  it('is made again when it expires within a day, is unreadable or names other hosts', () => {
    const dir = fresh();
    ensurePki(dir, ['localhost', 'a.modal.run']);
    // Two days from now it is still good; 40 days from now (30-day validity) it has expired.
    expect(pkiProblem(dir, ['a.modal.run'], 24 * 3_600_000, Date.now() + 2 * 86_400_000)).toBeUndefined();
    expect(pkiProblem(dir, ['a.modal.run'], 24 * 3_600_000, Date.now() + 40 * 86_400_000)).toMatch(/expires/);
    expect(ensurePki(dir, ['localhost', 'b.modal.run']).renewed).toMatch(/does not name b\.modal\.run/);
    writeFileSync(join(dir, 'server.pem'), 'not a certificate');
    expect(ensurePki(dir, ['localhost', 'b.modal.run']).renewed).toMatch(/unreadable/);
    // What it made works: the certificate verifies against the CA with openssl.
    const out = execFileSync('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'server.pem')]).toString();
    expect(out).toMatch(/OK/);
    expect(readFileSync(join(dir, 'server.key'), 'utf8')).toMatch(/PRIVATE KEY/);
  });
});
