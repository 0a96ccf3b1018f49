// What a group of replicas keeps in etcd, and where: every key sits under ha.prefix (the keys here are
// relative to it). README "Replicas" shows the same table for operators.
//
//   election/<lease id>              one per live replica, bound to its lease; the oldest (lowest
//                                    create_revision) is the leader, and that revision is its fencing token
//   members/<replica>                who is in the group: addresses, start time (lease-bound)
//   load/<replica>                   the replica's LRS samples, per Envoy and service (lease-bound)
//   plans/<service>                  the published plan and the decision that made it (leader, fenced)
//   controller/<service>             the controller's memory: its last decision (leader, fenced)
//   autoscaler/<service>             what the leader last asked of Modal's autoscaler (leader, fenced)
//   modal-address/<service>          the Modal hostname's address every replica publishes (leader, fenced)
//   cordons/<service>/<endpoint>     an operator's cordon (any replica)
//   overrides/<service>              an operator's override, with its expiry (any replica)

/** The families of keys, by their first path segment. */
export const KeyFamily = {
  Election: 'election',
  Members: 'members',
  Load: 'load',
  Plans: 'plans',
  Controller: 'controller',
  Autoscaler: 'autoscaler',
  ModalAddress: 'modal-address',
  Cordons: 'cordons',
  Overrides: 'overrides',
} as const;
export type KeyFamily = (typeof KeyFamily)[keyof typeof KeyFamily];

const FAMILIES = new Set<string>(Object.values(KeyFamily));

export const keys = {
  election: (leaseId: string): string => `${KeyFamily.Election}/${leaseId}`,
  member: (replica: string): string => `${KeyFamily.Members}/${replica}`,
  load: (replica: string): string => `${KeyFamily.Load}/${replica}`,
  plan: (service: string): string => `${KeyFamily.Plans}/${service}`,
  controller: (service: string): string => `${KeyFamily.Controller}/${service}`,
  autoscaler: (service: string): string => `${KeyFamily.Autoscaler}/${service}`,
  modalAddress: (service: string): string => `${KeyFamily.ModalAddress}/${service}`,
  cordon: (service: string, endpoint: string): string => `${KeyFamily.Cordons}/${service}/${endpoint}`,
  override: (service: string): string => `${KeyFamily.Overrides}/${service}`,
};

export interface ParsedKey {
  family: KeyFamily;
  /** The key's segments after the family (service, endpoint, replica, lease id). */
  parts: string[];
}

/** A group key split into family and parts; undefined for keys this version does not know (left alone). */
export function parseKey(key: string): ParsedKey | undefined {
  const [family, ...parts] = key.split('/');
  if (family === undefined || !FAMILIES.has(family) || parts.length === 0 || parts.some((p) => p === '')) return undefined;
  const f = family as KeyFamily;
  const want = f === KeyFamily.Cordons ? 2 : 1;
  return parts.length === want ? { family: f, parts } : undefined;
}
