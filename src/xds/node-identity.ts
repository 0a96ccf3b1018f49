// Binding a stream's node id to its client certificate (xds.node_identity), and who may report load
// (lrs.reporters). Pure: the verdict names the rule, so a refused Envoy's operator sees what to fix.
import { NODE_IDENTITY_PATH, type NodeIdentityRule } from '../config/security-config.js';
import type { PeerIdentity } from './peer-identity.js';

export type IdentityVerdict = { ok: true } | { ok: false; problem: string };

/** Escapes a literal for a RegExp. */
const literal = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The rule as a matcher for one node id: `{node_id}` is the id (literally), `*` one segment or label. */
function sanPattern(template: string, nodeId: string): RegExp {
  const parts = template.split('{node_id}').map((chunk) => chunk.split('*').map(literal).join('[^/.]*'));
  return new RegExp(`^${parts.join(literal(nodeId))}$`);
}

export function describeRule(rule: NodeIdentityRule): string {
  return `${NODE_IDENTITY_PATH} (${rule.san === 'any' ? 'a URI or DNS' : rule.san.toUpperCase()} SAN matching "${rule.template}")`;
}

/** Whether `identity` may speak for `nodeId` under `rule`. */
export function checkNodeIdentity(rule: NodeIdentityRule, nodeId: string, identity: PeerIdentity | undefined): IdentityVerdict {
  if (!identity) {
    return { ok: false, problem: `node "${nodeId}": no verified client certificate; ${describeRule(rule)} needs one` };
  }
  const candidates = rule.san === 'uri' ? identity.uris : rule.san === 'dns' ? identity.dnsNames : [...identity.uris, ...identity.dnsNames];
  const want = sanPattern(rule.template, nodeId);
  if (candidates.some((san) => want.test(san))) return { ok: true };
  const have = candidates.length > 0 ? candidates.map((s) => `"${s}"`).join(', ') : 'none of that kind';
  return {
    ok: false,
    problem: `node "${nodeId}" is not this client certificate's identity: ${describeRule(rule)}; the certificate has ${have}`,
  };
}

/** Glob patterns over node ids (`*` matches any run of characters). */
export class NodePatterns {
  private readonly res: RegExp[];

  constructor(readonly patterns: readonly string[]) {
    this.res = patterns.map((p) => new RegExp(`^${p.split('*').map(literal).join('.*')}$`));
  }

  matches(nodeId: string): boolean {
    return this.res.some((re) => re.test(nodeId));
  }
}
