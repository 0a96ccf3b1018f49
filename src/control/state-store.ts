// Where the operating state document lives. A store moves the whole document as text and nothing
// else: what the document means (operating-state.ts) and what of it a restart may use
// (state-restore.ts) do not depend on the store. The file store is the one for a single Spillway; a
// replicated deployment puts the same document in a shared store behind this same interface.
import { constants } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The whole document at once, not per key: a save is then one atomic replacement in any store (a
 * rename here, one conditional put in a key-value store), and a reader never sees half of one save
 * and half of another. The document is small (a few KiB per service).
 */
export interface StateStore {
  /** Where the state is kept, for messages: a file path, a key. */
  readonly location: string;
  /** The last document saved; undefined when none ever was. Throws (naming the location) when it cannot be read. */
  load(): Promise<string | undefined>;
  /** Replaces the document atomically: a later load sees the old one or the new one, never a mix. */
  save(document: string): Promise<void>;
}

export const STATE_FILE = 'spillway-state.json';

/**
 * A JSON file in a directory. A save writes a temporary file beside it, flushes it to disk, renames
 * it over the old one and flushes the directory, so a crash at any point (kill -9, power loss)
 * leaves either the previous document or the new one.
 */
export class FileStateStore implements StateStore {
  readonly location: string;
  private readonly tmp: string;
  private dirReady = false;

  constructor(private readonly dir: string) {
    this.location = join(dir, STATE_FILE);
    this.tmp = join(dir, `.${STATE_FILE}.${process.pid}.tmp`);
  }

  async load(): Promise<string | undefined> {
    try {
      return await readFile(this.location, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`cannot read ${this.location}: ${(err as Error).message}`, { cause: err });
    }
  }

  async save(document: string): Promise<void> {
    try {
      if (!this.dirReady) {
        await mkdir(this.dir, { recursive: true });
        this.dirReady = true;
      }
      const file = await open(this.tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
      try {
        await file.writeFile(document, 'utf8');
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(this.tmp, this.location);
      await syncDir(this.dir);
    } catch (err) {
      await rm(this.tmp, { force: true }).catch(() => {});
      throw new Error(`cannot write ${this.location}: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** Flushes a directory entry (the rename) to disk; some filesystems refuse to open a directory, which is harmless. */
async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, constants.O_RDONLY);
    await handle.sync();
  } catch {
    // Not supported here (e.g. some network filesystems): the rename is still atomic.
  } finally {
    await handle?.close();
  }
}
