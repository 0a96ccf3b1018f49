// Fenced writes: everything only the leader may write goes through one etcd transaction that
// succeeds only while the leader's election key still exists with the create revision it was elected
// under (the fencing token) and is bound to its lease. A replica that lost leadership — its lease
// expired while it was paused, partitioned or across an etcd restart — has its write refused by etcd
// itself, whatever it believes; it then steps down at once.
import type { Namespace } from 'etcd3';
import { errorMessage } from '../core/errors.js';

export interface Fence {
  /** The leader's election key (relative to the group prefix). */
  key: string;
  /** Its create revision: monotonic across leaders. */
  token: bigint;
  leaseId: string;
}

export type FencedOp = { put: string; value: string } | { delete: string; ifModRevision?: bigint };

export type FencedOutcome =
  | { kind: 'written'; revision: bigint }
  /** etcd refused: this replica no longer leads. */
  | { kind: 'fenced-out' }
  /** etcd could not be asked (or did not answer): the outcome is unknown, and every fenced write is safe to repeat. */
  | { kind: 'unavailable'; error: string };

export async function fencedCommit(group: Namespace, fence: Fence, ops: readonly FencedOp[]): Promise<FencedOutcome> {
  let txn = group.if(fence.key, 'Create', '==', fence.token.toString()).and(fence.key, 'Lease', '==', fence.leaseId);
  for (const op of ops)
    if ('delete' in op && op.ifModRevision !== undefined) txn = txn.and(op.delete, 'Mod', '==', op.ifModRevision.toString());
  try {
    const res = await txn
      .then(...ops.map((op) => ('put' in op ? group.put(op.put).value(op.value) : group.delete().key(op.delete))))
      .commit();
    return res.succeeded ? { kind: 'written', revision: BigInt(res.header.revision) } : { kind: 'fenced-out' };
  } catch (err) {
    return { kind: 'unavailable', error: errorMessage(err) };
  }
}
