import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../tools/repo.js';

// etcd3 carries its own proto-loader and protos (about 4 MiB of a single Spillway's start RSS, measured
// with npm run bench:fanout): only replicas, which connect to etcd, load it.
describe('the etcd client library', () => {
  it('is not loaded by a single Spillway: importing the app leaves etcd3 out of the module cache', () => {
    const code = [
      "await import('./src/app/spillway-app.ts');",
      "const { createRequire } = await import('node:module');",
      "const cache = createRequire(process.cwd() + '/').cache;",
      "console.log(Object.keys(cache).filter((k) => k.includes('/node_modules/etcd3/')).length);",
    ].join(' ');
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', code], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(Number(out.trim().split('\n').at(-1))).toBe(0);
  }, 30_000);
});
