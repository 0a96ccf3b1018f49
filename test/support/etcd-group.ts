// A real etcd for one describe block, reached through the client replicas use, and a candidacy in
// its election: what the replica tests of fenced writes stand on.
import type { Namespace } from 'etcd3';
import { afterAll, beforeAll, expect } from 'vitest';
import { connectEtcd, type EtcdConnection } from '../../src/ha/etcd-client.js';
import type { Fence } from '../../src/ha/fence.js';
import { keys } from '../../src/ha/keys.js';
import { startEtcd, type EtcdHandle } from '../../tools/etcd/etcd-process.js';

export interface EtcdGroup {
  /** The etcd process (stop and start it to test outages). */
  readonly etcd: EtcdHandle;
  /** The group's keys under `prefix`. */
  readonly group: Namespace;
}

/** Starts etcd before the block's tests and stops it after; read the fields inside tests only. */
export function realEtcdGroup(prefix: string): EtcdGroup {
  let etcd: EtcdHandle | undefined;
  let conn: EtcdConnection | undefined;
  beforeAll(async () => {
    etcd = await startEtcd();
    // The client replicas use (fault handling tuned to notice etcd back within a second).
    conn = connectEtcd({ endpoints: [etcd.url] }, prefix, { callTimeoutMs: 1_000 });
  });
  afterAll(async () => {
    conn?.close();
    await etcd?.close();
  });
  return {
    get etcd(): EtcdHandle {
      if (!etcd) throw new Error('etcd is not started yet (use it inside a test)');
      return etcd;
    },
    get group(): Namespace {
      if (!conn) throw new Error('etcd is not started yet (use it inside a test)');
      return conn.group;
    },
  };
}

/** Stands for leader under a fresh lease (no keepalive: the test decides when it ends). */
export async function standForLeader(group: Namespace): Promise<Fence> {
  const res = await group.leaseClient.leaseGrant({ TTL: 30 });
  const key = keys.election(res.ID);
  const txn = await group.if(key, 'Create', '==', 0).then(group.put(key).value('{}').lease(res.ID)).commit();
  expect(txn.succeeded).toBe(true);
  return { key, token: BigInt(txn.header.revision), leaseId: res.ID };
}
