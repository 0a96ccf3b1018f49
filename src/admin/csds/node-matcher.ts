// Envoy's NodeMatcher (envoy.type.matcher.v3), as CSDS requests carry it: a node id StringMatcher
// and StructMatchers over node metadata. Pure: a request's matchers are compiled once (regexes
// checked up front, so a bad one is an INVALID_ARGUMENT naming the field, not a silent no-match).
import type { NodeMatcher__Output } from '../../generated/envoy/type/matcher/v3/NodeMatcher.js';
import type { StringMatcher__Output } from '../../generated/envoy/type/matcher/v3/StringMatcher.js';
import type { StructMatcher__Output } from '../../generated/envoy/type/matcher/v3/StructMatcher.js';
import type { ValueMatcher__Output } from '../../generated/envoy/type/matcher/v3/ValueMatcher.js';
import type { Struct__Output } from '../../generated/google/protobuf/Struct.js';
import type { Value__Output } from '../../generated/google/protobuf/Value.js';
import type { NodeInfo } from '../../xds/node-info.js';

export class MatcherError extends Error {}

export type NodePredicate = (node: NodeInfo) => boolean;

/** Every node matches an empty list; otherwise a node must match at least one matcher (CSDS's "any of"). */
export function compileNodeMatchers(matchers: readonly NodeMatcher__Output[]): NodePredicate {
  if (matchers.length === 0) return () => true;
  const compiled = matchers.map((m, i) => compileNodeMatcher(m, `node_matchers[${i}]`));
  return (node) => compiled.some((p) => p(node));
}

function compileNodeMatcher(m: NodeMatcher__Output, path: string): NodePredicate {
  const id = m.node_id ? compileString(m.node_id, `${path}.node_id`) : undefined;
  const meta = m.node_metadatas.map((s, i) => compileStruct(s, `${path}.node_metadatas[${i}]`));
  // Every part given must hold.
  return (node) => (id === undefined || id(node.id)) && meta.every((p) => p(node.metadata));
}

export function compileString(m: StringMatcher__Output, path: string): (s: string) => boolean {
  const fold = (s: string): string => (m.ignore_case ? s.toLowerCase() : s);
  switch (m.match_pattern) {
    case 'exact': {
      const want = fold(m.exact ?? '');
      return (s) => fold(s) === want;
    }
    case 'prefix': {
      const want = fold(m.prefix ?? '');
      return (s) => fold(s).startsWith(want);
    }
    case 'suffix': {
      const want = fold(m.suffix ?? '');
      return (s) => fold(s).endsWith(want);
    }
    case 'contains': {
      const want = fold(m.contains ?? '');
      return (s) => fold(s).includes(want);
    }
    case 'safe_regex': {
      // RE2 and JavaScript agree on the syntax operators use for ids; safe_regex must match the whole string.
      let re: RegExp;
      try {
        re = new RegExp(`^(?:${m.safe_regex?.regex ?? ''})$`, 'u');
      } catch (err) {
        throw new MatcherError(`${path}.safe_regex.regex: ${(err as Error).message}`);
      }
      return (s) => re.test(s);
    }
    case 'custom':
      throw new MatcherError(`${path}.custom: custom string matchers are not supported`);
    default:
      throw new MatcherError(`${path}: no match pattern set (exact, prefix, suffix, contains or safe_regex)`);
  }
}

function compileStruct(m: StructMatcher__Output, path: string): (metadata: Struct__Output | null) => boolean {
  if (m.path.length === 0) throw new MatcherError(`${path}.path: at least one segment is required`);
  const keys = m.path.map((seg, i) => {
    if (!seg.key) throw new MatcherError(`${path}.path[${i}].key: required`);
    return seg.key;
  });
  if (!m.value) throw new MatcherError(`${path}.value: required`);
  const value = compileValue(m.value, `${path}.value`);
  return (metadata) => {
    let v: Value__Output | undefined = undefined;
    let struct: Struct__Output | null | undefined = metadata;
    for (const key of keys) {
      v = struct?.fields?.[key];
      if (!v) return value(undefined);
      struct = v.kind === 'structValue' ? v.structValue : undefined;
    }
    return value(v);
  };
}

function compileValue(m: ValueMatcher__Output, path: string): (v: Value__Output | undefined) => boolean {
  switch (m.match_pattern) {
    case 'null_match':
      return (v) => v?.kind === 'nullValue';
    case 'present_match': {
      const want = m.present_match ?? false;
      return (v) => (v !== undefined) === want;
    }
    case 'bool_match': {
      const want = m.bool_match ?? false;
      return (v) => v?.kind === 'boolValue' && v.boolValue === want;
    }
    case 'string_match': {
      const s = compileString(m.string_match!, `${path}.string_match`);
      return (v) => v?.kind === 'stringValue' && s(v.stringValue ?? '');
    }
    case 'double_match': {
      const d = m.double_match!;
      const test =
        d.match_pattern === 'range'
          ? (x: number) => x >= (d.range?.start ?? 0) && x < (d.range?.end ?? 0)
          : (x: number) => x === (d.exact ?? 0);
      return (v) => v?.kind === 'numberValue' && test(v.numberValue ?? 0);
    }
    case 'list_match': {
      const one = m.list_match?.one_of;
      if (!one) throw new MatcherError(`${path}.list_match.one_of: required`);
      const inner = compileValue(one, `${path}.list_match.one_of`);
      return (v) => v?.kind === 'listValue' && (v.listValue?.values ?? []).some((x) => inner(x));
    }
    case 'or_match': {
      const any = (m.or_match?.value_matchers ?? []).map((x, i) => compileValue(x, `${path}.or_match.value_matchers[${i}]`));
      return (v) => any.some((p) => p(v));
    }
    default:
      throw new MatcherError(`${path}: no match pattern set`);
  }
}
