// Compares a JSON value with the shape of a template value: the same keys, and values of the same
// kinds. Restore uses it to accept saved controller memory only when it has the shape of the memory
// the running capacity model produces, whatever that shape is today.

/**
 * The first place where value's shape differs from template's, as "path: problem"; undefined when
 * they agree. A null in the template accepts null or any scalar (an optional time, a count not
 * known yet); an empty template array accepts any array of plain JSON values.
 */
export function shapeMismatch(template: unknown, value: unknown, path: string): string | undefined {
  if (template === null) {
    return value === null || isScalar(value) ? undefined : `${path}: expected null or a scalar, got ${kindOf(value)}`;
  }
  if (Array.isArray(template)) {
    if (!Array.isArray(value)) return `${path}: expected an array, got ${kindOf(value)}`;
    const element: unknown = template[0];
    for (let i = 0; i < value.length; i++) {
      const problem =
        element === undefined ? plainJsonProblem(value[i], `${path}[${i}]`) : shapeMismatch(element, value[i], `${path}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof template === 'object') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${path}: expected an object, got ${kindOf(value)}`;
    const t = template as Record<string, unknown>;
    const v = value as Record<string, unknown>;
    for (const key of Object.keys(t)) {
      if (!(key in v)) return `${path}.${key}: missing`;
      const problem = shapeMismatch(t[key], v[key], `${path}.${key}`);
      if (problem) return problem;
    }
    const extra = Object.keys(v).find((k) => !(k in t));
    return extra === undefined ? undefined : `${path}.${extra}: not part of this version's shape`;
  }
  if (typeof template === 'number') return isFiniteNumber(value) ? undefined : `${path}: expected a number, got ${kindOf(value)}`;
  return typeof value === typeof template ? undefined : `${path}: expected a ${typeof template}, got ${kindOf(value)}`;
}

/** Nested objects, arrays and scalars only (finite numbers): what a JSON document can hold. */
export function plainJsonProblem(value: unknown, path: string): string | undefined {
  if (value === null || isScalar(value)) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = plainJsonProblem(value[i], `${path}[${i}]`);
      if (p) return p;
    }
    return undefined;
  }
  if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const p = plainJsonProblem(v, `${path}.${k}`);
      if (p) return p;
    }
    return undefined;
  }
  return `${path}: ${kindOf(value)} is not JSON`;
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function isScalar(v: unknown): boolean {
  return isFiniteNumber(v) || typeof v === 'string' || typeof v === 'boolean';
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return typeof v === 'object' ? 'an object' : typeof v === 'undefined' ? 'nothing' : `a ${typeof v}`;
}
