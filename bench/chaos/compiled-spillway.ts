// Compiles Spillway once for a chaos run, as the Docker image does (tsc → dist/), so a restarted
// `spillway serve` starts as fast as it does in production instead of transpiling on every start.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Node arguments that run the compiled CLI, and a cleanup. */
export function compileSpillway(): { args: string[]; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-compiled-'));
  execFileSync(join(REPO_ROOT, 'node_modules/.bin/tsc'), ['-p', join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')], {
    stdio: 'inherit',
  });
  // What dist/ finds beside it in the image: package.json (the package root), proto/, node_modules/.
  copyFileSync(join(REPO_ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(REPO_ROOT, 'proto'), join(dir, 'proto'), 'dir');
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return { args: [join(dir, 'dist/src/cli.js')], cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
