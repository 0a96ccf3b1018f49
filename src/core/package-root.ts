// Files that ship with Spillway (proto/, the status page) are found from the package root, whether
// the code runs from src/ (tsx) or dist/src/ (the build).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory of Spillway's package.json, found upwards from this file. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot locate the Spillway package root (package.json)');
}
