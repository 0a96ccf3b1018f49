// The endpoint file deploy tooling rewrites, read the way Prometheus file discovery reads its files:
// a list of target groups, JSON or YAML.
//
//   - targets: ["10.0.0.11:8080", "[2001:db8::7]:8080"]
//     capacity: 16                      # optional: max concurrent requests per target
//     labels: { zone: a, capacity: "16" }   # optional; labels.capacity is read when capacity is absent
//
// Every problem names the file and the field, so a broken file can be refused and fixed.
import { parse as parseYaml } from 'yaml';
import type { InHouseEndpoint } from './config-types.js';
import { endpointKeyOf, parseEndpointKey } from './endpoint-key.js';
import { Reader, describe, isObj, join } from './reader.js';

export type TargetFileResult = { ok: true; endpoints: InHouseEndpoint[] } | { ok: false; errors: string[] };

const MAX_CAPACITY = 1_000_000;

/** Parses one file's text; `defaultCapacity` applies to groups that name none. */
export function parseTargetFile(text: string, file: string, defaultCapacity: number | undefined): TargetFileResult {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    const msg = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
    return { ok: false, errors: [`${file}: not valid JSON or YAML: ${msg}`] };
  }
  const r = new Reader();
  // An empty file reads as no targets (a deploy tool may truncate before it writes).
  const groups =
    raw === null || raw === undefined ? [] : Array.isArray(raw) ? raw : (r.fail('(top)', 'must be a list of target groups'), []);
  const endpoints: InHouseEndpoint[] = [];
  const seen = new Map<string, string>();
  groups.forEach((g, i) => {
    const path = join('', i);
    const o = r.obj(g, path, ['targets', 'capacity', 'labels']);
    if (!o) return;
    const capacity = groupCapacity(r, o, path, defaultCapacity);
    r.list(o, 'targets', path, true).forEach((t, j) => {
      const where = join(join(path, 'targets'), j);
      const parsed = typeof t === 'string' ? parseEndpointKey(t) : undefined;
      if (!parsed) {
        r.fail(where, `must be "ip:port" (or "[ipv6]:port"), got ${describe(t)}`);
        return;
      }
      const key = endpointKeyOf(parsed);
      const first = seen.get(key);
      if (first) {
        r.fail(where, `duplicate target ${key} (also ${first})`);
        return;
      }
      seen.set(key, where);
      if (capacity !== undefined) endpoints.push({ ...parsed, capacity });
    });
  });
  if (r.errors.length > 0) return { ok: false, errors: r.errors.map((e) => `${file}: ${e}`) };
  return { ok: true, endpoints };
}

function groupCapacity(r: Reader, o: Record<string, unknown>, path: string, defaultCapacity: number | undefined): number | undefined {
  if (o['capacity'] !== undefined && o['capacity'] !== null) return r.int(o, 'capacity', path, undefined, 1, MAX_CAPACITY);
  const labels = o['labels'];
  if (labels !== undefined && labels !== null && !isObj(labels)) {
    r.fail(join(path, 'labels'), 'must be a mapping');
    return undefined;
  }
  const label = isObj(labels) ? labels['capacity'] : undefined;
  if (label !== undefined) {
    const n = typeof label === 'string' && /^\d+$/.test(label) ? Number(label) : typeof label === 'number' ? label : NaN;
    if (!Number.isInteger(n) || n < 1 || n > MAX_CAPACITY) {
      r.fail(join(join(path, 'labels'), 'capacity'), `must be a whole number from 1 to ${MAX_CAPACITY}, got ${describe(label)}`);
      return undefined;
    }
    return n;
  }
  if (defaultCapacity === undefined) {
    r.fail(join(path, 'capacity'), 'is required (no capacity for the file or the service: set in_house.capacity)');
    return undefined;
  }
  return defaultCapacity;
}
