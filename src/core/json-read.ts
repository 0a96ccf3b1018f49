// Readers for JSON documents Spillway wrote earlier and reads back (the saved operating state, the
// replicas' etcd records): each checks one value and, when it does not fit, throws a JsonShapeError
// whose message starts with the value's path. Decoders catch that one error and report its message.

/** A value of a read document does not have the expected shape; the message names its path. */
export class JsonShapeError extends Error {}

/** `path.key`, or `key` at the top level. */
export function at(path: string | undefined, key: string): string {
  return path ? `${path}.${key}` : key;
}

export function obj(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new JsonShapeError(`${path}: must be an object`);
  return v as Record<string, unknown>;
}

export function num(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new JsonShapeError(`${path}: must be a number, got ${JSON.stringify(v)}`);
  return v;
}

export function wholeNumber(v: unknown, path: string): number {
  const n = num(v, path);
  if (!Number.isInteger(n) || n < 0) throw new JsonShapeError(`${path}: must be a whole number ≥ 0, got ${n}`);
  return n;
}

/** Milliseconds since the epoch. */
export function time(v: unknown, path: string): number {
  const n = num(v, path);
  if (n < 0) throw new JsonShapeError(`${path}: must be a time in ms since the epoch, got ${n}`);
  return n;
}

export function str(v: unknown, path: string): string {
  if (typeof v !== 'string') throw new JsonShapeError(`${path}: must be a string`);
  return v;
}

export function nonEmptyStr(v: unknown, path: string): string {
  if (typeof v !== 'string' || v === '') throw new JsonShapeError(`${path}: must be a non-empty string`);
  return v;
}

export function strList(v: unknown, path: string): string[] {
  if (!Array.isArray(v)) throw new JsonShapeError(`${path}: must be a list of strings`);
  return v.map((x, i) => str(x, `${path}[${i}]`));
}

export function nonEmptyStrList(v: unknown, path: string): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string' || x === ''))
    throw new JsonShapeError(`${path}: must be a non-empty list of non-empty strings`);
  return v as string[];
}

export function oneOf<T extends string>(v: unknown, allowed: readonly T[], path: string): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new JsonShapeError(`${path}: must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

/** Parses text and reads it; the first problem comes back as an error naming its path. */
export function decodeJson<T>(text: string, read: (raw: unknown) => T): { ok: true; value: T } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  try {
    return { ok: true, value: read(raw) };
  } catch (err) {
    if (err instanceof JsonShapeError) return { ok: false, error: err.message };
    throw err;
  }
}
