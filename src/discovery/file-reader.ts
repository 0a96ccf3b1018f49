// Reader for a watched endpoint file (config/parse-target-file.ts has the format). A missing file is
// an empty answer (subject to the grace period); a file that does not parse is a failure: refused,
// with the file and field named, and the last good set keeps serving.
import { readFile } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { FileSourceConfig } from '../config/config-types.js';
import { parseTargetFile } from '../config/parse-target-file.js';
import { errorMessage } from '../core/errors.js';
import type { SourceReader } from './endpoint-source.js';

export function fileReader(cfg: FileSourceConfig, pollMs: number, defaultCapacity: number | undefined): SourceReader {
  return async () => {
    let text: string;
    try {
      text = await readFile(cfg.path, 'utf8');
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return { outcome: { kind: 'answer', endpoints: [] }, nextMs: pollMs };
      return { outcome: { kind: 'failure', problem: `${cfg.path}: ${errorMessage(err)}` }, nextMs: pollMs };
    }
    const parsed = parseTargetFile(text, cfg.path, cfg.capacity ?? defaultCapacity);
    if (!parsed.ok) return { outcome: { kind: 'failure', problem: `refused: ${parsed.errors.join('; ')}` }, nextMs: pollMs };
    return { outcome: { kind: 'answer', endpoints: parsed.endpoints }, nextMs: pollMs };
  };
}

/**
 * Calls onEvent when the file may have changed. The directory is watched, not the file: deploy tools
 * replace files by rename, which a watch on the old inode never sees. Returns a stop function; where
 * watching is impossible the poll still picks changes up.
 */
export function watchFile(path: string, onEvent: () => void): () => void {
  const name = basename(path);
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, changed) => {
      if (changed === null || changed.toString() === name) onEvent();
    });
    watcher.on('error', () => watcher?.close());
  } catch {
    watcher = undefined;
  }
  return () => watcher?.close();
}
