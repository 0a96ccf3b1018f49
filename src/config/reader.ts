// The one reader of untyped config trees (YAML): every read names its field path, and every problem
// is collected rather than thrown, so one run reports them all.
import type { HostPort } from '../core/host-port.js';

export type Obj = Record<string, unknown>;

/** A check on a number: null when fine, else what is wrong ("must be > 0"). */
export type NumberCheck = (v: number) => string | null;

export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

export function describe(v: unknown): string {
  if (typeof v === 'string') return `"${v}"`;
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'a mapping' : `${typeof v} ${String(v)}`;
}

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Collects problems with their paths while reading an untyped tree. */
export class Reader {
  readonly errors: string[] = [];

  fail(path: string, problem: string): void {
    this.errors.push(`${path}: ${problem}`);
  }

  /** A mapping (absent or null reads as empty), with every key outside `known` reported. */
  obj(v: unknown, path: string, known: readonly string[]): Obj | undefined {
    if (v === undefined || v === null) return {};
    if (!isObj(v)) {
      this.fail(path, 'must be a mapping');
      return undefined;
    }
    for (const k of Object.keys(v)) {
      if (!known.includes(k)) this.fail(join(path, k), `unknown field (expected one of: ${known.join(', ')})`);
    }
    return v;
  }

  int(o: Obj, key: string, path: string, def: number | undefined, min: number, max: number): number {
    const v = o[key];
    const p = join(path, key);
    if (v === undefined || v === null) {
      if (def === undefined) {
        this.fail(p, 'is required');
        return min;
      }
      return def;
    }
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.fail(p, `must be an integer, got ${describe(v)}`);
      return def ?? min;
    }
    if (v < min || v > max) {
      this.fail(p, `must be between ${min} and ${max}, got ${v}`);
      return def ?? min;
    }
    return v;
  }

  num(o: Obj, key: string, path: string, def: number, min: number, max: number): number {
    return this.checked(o, key, path, def, (v) => (v < min || v > max ? `must be between ${min} and ${max}` : null));
  }

  /** A number that passes `check`; the default when absent or refused (the refusal is an error, so nothing runs on it). */
  checked(o: Obj, key: string, path: string, def: number, check: NumberCheck): number {
    const v = o[key];
    const p = join(path, key);
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.fail(p, `must be a number, got ${describe(v)}`);
      return def;
    }
    const problem = check(v);
    if (problem) {
      this.fail(p, `${problem}, got ${v}`);
      return def;
    }
    return v;
  }

  str(o: Obj, key: string, path: string, def?: string): string {
    const v = o[key];
    const p = join(path, key);
    if (v === undefined || v === null) {
      if (def === undefined) {
        this.fail(p, 'is required');
        return '';
      }
      return def;
    }
    if (typeof v !== 'string' || v.length === 0) {
      this.fail(p, `must be a non-empty string, got ${describe(v)}`);
      return def ?? '';
    }
    return v;
  }

  optStr(o: Obj, key: string, path: string): string | undefined {
    return o[key] === undefined || o[key] === null ? undefined : this.str(o, key, path);
  }

  oneOf<T extends string>(o: Obj, key: string, path: string, def: T, allowed: readonly T[]): T {
    const v = o[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.fail(join(path, key), `must be one of ${allowed.join(', ')}, got ${describe(v)}`);
      return def;
    }
    return v as T;
  }

  bool(o: Obj, key: string, path: string, def: boolean): boolean {
    const v = o[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'boolean') {
      this.fail(join(path, key), `must be true or false, got ${describe(v)}`);
      return def;
    }
    return v;
  }

  list(o: Obj, key: string, path: string, required: boolean): unknown[] {
    const v = o[key];
    const p = join(path, key);
    if (v === undefined || v === null) {
      if (required) this.fail(p, 'is required');
      return [];
    }
    if (!Array.isArray(v)) {
      this.fail(p, 'must be a list');
      return [];
    }
    return v;
  }

  hostPort(v: unknown, path: string, def: HostPort): HostPort {
    if (v === undefined || v === null) return def;
    if (typeof v !== 'string') {
      this.fail(path, `must be "host:port", got ${describe(v)}`);
      return def;
    }
    const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(v);
    const port = m ? Number(m[2]) : NaN;
    if (!m || !m[1] || port > 65535) {
      this.fail(path, `must be "host:port" with a port from 0 to 65535, got "${v}"`);
      return def;
    }
    return { host: m[1].replace(/^\[|\]$/g, ''), port };
  }
}
