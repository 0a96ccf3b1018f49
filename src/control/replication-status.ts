// What a replica says about the group it belongs to (replicas on etcd, src/ha/): admin, health and
// metrics read it through the read model. A single Spillway has none.

export interface ReplicaMember {
  replicaId: string;
  xds: string;
  admin: string;
  leader: boolean;
  /** False when the member serves a different services configuration (its resources would differ). */
  sameConfig: boolean;
}

export interface ReplicationStatus {
  replicaId: string;
  /** The replica that decides and actuates now; undefined while the group has none. */
  leaderId: string | undefined;
  isLeader: boolean;
  /** The leader's fencing token (its election revision): it grows with every new leader. */
  fencingToken: string | undefined;
  /** True while this replica follows etcd live (its watch is up and its lease is confirmed). */
  etcdConnected: boolean;
  /** Why this replica is degraded (etcd unreachable, no leader, configurations differ); undefined when it is not. */
  degraded: string | undefined;
  members: ReplicaMember[];
}
