// Who an ADS stream says it is (its claim; xds/node-identity.ts checks it against the certificate): the parts of Envoy's Node that operators and CSDS node matchers
// use, copied once when the stream opens. Envoy's Node also lists every extension it was built
// with (hundreds of entries); keeping that per stream would cost more than the rest of the stream.
import type { Node__Output } from '../generated/envoy/config/core/v3/Node.js';
import type { Struct__Output } from '../generated/google/protobuf/Struct.js';

export interface NodeInfo {
  id: string;
  /** Envoy's node.cluster (its service-cluster label), not an xDS cluster. */
  cluster: string;
  metadata: Struct__Output | null;
  locality: { region: string; zone: string; sub_zone: string } | null;
  /** "envoy", or a gRPC library's name. */
  userAgentName: string;
  /** "1.40.0" (from the build version Envoy sends), or the free-text version; '' when not sent. */
  userAgentVersion: string;
}

/** The fields of a request's node that matter; tolerant of partial nodes (tests, other clients). */
export type NodeLike = Partial<Pick<Node__Output, 'id' | 'cluster' | 'metadata' | 'locality' | 'user_agent_name'>> & {
  user_agent_version?: string | undefined;
  user_agent_build_version?: Node__Output['user_agent_build_version'] | undefined;
};

export function nodeInfoOf(node: NodeLike | null | undefined): NodeInfo {
  const l = node?.locality;
  return {
    id: node?.id ?? '',
    cluster: node?.cluster ?? '',
    metadata: node?.metadata ?? null,
    locality: l ? { region: l.region ?? '', zone: l.zone ?? '', sub_zone: l.sub_zone ?? '' } : null,
    userAgentName: node?.user_agent_name ?? '',
    userAgentVersion: versionText(node),
  };
}

function versionText(node: NodeLike | null | undefined): string {
  const v = node?.user_agent_build_version?.version;
  if (v) return `${v.major_number ?? 0}.${v.minor_number ?? 0}.${v.patch ?? 0}`;
  return node?.user_agent_version ?? '';
}
