// CSDS (envoy.service.status.v3): what each connected Envoy runs, per resource, in Envoy's own
// vocabulary. Pure mapping from the read model's per-node sync view to a ClientConfig:
// - config_status (ConfigStatus): SYNCED, NOT_SENT, STALE or ERROR against what Spillway serves now;
// - client_status (ClientResourceStatus): what the Envoy would say itself (REQUESTED, ACKED, NACKED,
//   DOES_NOT_EXIST);
// - version_info: the version Envoy reports for the resource in its config_dump (what it runs);
// - xds_config: the content it runs (left out with exclude_resource_contents);
// - error_state: the last content it rejected, with Envoy's reason, until a later one is accepted.
import type { ClientConfig } from '../../generated/envoy/service/status/v3/ClientConfig.js';
import type { _envoy_service_status_v3_ClientConfig_GenericXdsConfig as GenericXdsConfig } from '../../generated/envoy/service/status/v3/ClientConfig.js';
import type { Node } from '../../generated/envoy/config/core/v3/Node.js';
import type { Timestamp } from '../../generated/google/protobuf/Timestamp.js';
import type { NodeSyncView } from '../../control/read-model.js';
import type { NodeInfo } from '../../xds/node-info.js';
import { clientResourceStatus, resourceConfigStatus } from '../../xds/resource-sync.js';
import type { EncodedResource } from '../../xds/snapshot.js';

export interface ClientStatusOptions {
  /** CSDS's exclude_resource_contents: versions and statuses only. */
  excludeContents: boolean;
}

export function timestampOf(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

export function nodeMessage(node: NodeInfo): Node {
  const msg: Node = { id: node.id, cluster: node.cluster, user_agent_name: node.userAgentName };
  if (node.userAgentVersion) msg.user_agent_version = node.userAgentVersion;
  if (node.metadata) msg.metadata = node.metadata;
  if (node.locality) msg.locality = node.locality;
  return msg;
}

const anyOf = (r: EncodedResource): { type_url: string; value: Buffer } => ({ type_url: r.typeUrl, value: r.value });

/** One connected Envoy's ClientConfig: every resource it subscribes to or holds, by type (ADS order) then name. */
export function clientConfigOf(view: NodeSyncView, opts: ClientStatusOptions): ClientConfig {
  const configs: GenericXdsConfig[] = [];
  for (const t of view.types) {
    const sub = t.subscription;
    if (!sub) continue;
    const names = new Set<string>();
    for (const n of t.tracks.keys()) if (sub.wildcard || sub.names.has(n)) names.add(n);
    for (const n of sub.names) names.add(n);
    if (sub.wildcard) for (const n of t.current?.resources.keys() ?? []) names.add(n);
    for (const name of [...names].sort()) {
      const track = t.tracks.get(name);
      const current = t.current?.resources.get(name);
      const c: GenericXdsConfig = {
        type_url: t.typeUrl,
        name,
        version_info: track?.accepted?.versionInfo ?? '',
        config_status: resourceConfigStatus(track, current),
        client_status: clientResourceStatus(track, current !== undefined),
      };
      if (track?.accepted) {
        c.last_updated = timestampOf(track.accepted.atMs);
        if (!opts.excludeContents) c.xds_config = anyOf(track.accepted.resource);
      }
      const rejected = track?.rejected;
      if (rejected) {
        c.error_state = {
          details: rejected.detail,
          last_update_attempt: timestampOf(rejected.atMs),
          version_info: rejected.versionInfo,
          ...(rejected.resource && !opts.excludeContents ? { failed_configuration: anyOf(rejected.resource) } : {}),
        };
      }
      configs.push(c);
    }
  }
  return { node: nodeMessage(view.node), generic_xds_configs: configs };
}
