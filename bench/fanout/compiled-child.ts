// The Spillway child as compiled JavaScript run by plain node: how Spillway runs in production
// (`node dist/src/cli.js`, the Dockerfile). Under tsx the child also carries tsx's loader thread
// and its transpiler, which would be charged to Spillway's RSS and start-up.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const outFile = `${root}.tmp/bench-dist/bench/fanout/spillway-child.js`;

/** Compiles the child and what it imports into .tmp/bench-dist (incremental: fast when unchanged). */
export function buildCompiledChild(): void {
  const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
  execFileSync(process.execPath, [tsc, '-p', fileURLToPath(new URL('./tsconfig.child.json', import.meta.url))], {
    cwd: root,
    stdio: 'inherit',
  });
}

export function compiledChildEntry(): { file: string; args: string[] } {
  return { file: process.execPath, args: [outFile] };
}
