// Fenced writes against a real etcd: only the candidate whose election key still stands, under the
// create revision it was elected with and bound to its lease, can write.
import type { Namespace } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEtcd, type EtcdConnection } from '../../src/ha/etcd-client.js';
import { fencedCommit, type Fence, type FencedOutcome } from '../../src/ha/fence.js';
import { keys } from '../../src/ha/keys.js';
import { startEtcd, type EtcdHandle } from '../../tools/etcd/etcd-process.js';
import { waitFor } from '../../tools/wait-for.js';

describe('fenced writes (real etcd)', () => {
  let etcd: EtcdHandle;
  let conn: EtcdConnection;
  let group: Namespace;

  beforeAll(async () => {
    etcd = await startEtcd();
    // The client replicas use (fault handling tuned to notice etcd back within a second).
    conn = connectEtcd({ endpoints: [etcd.url] }, '/spillway/fence-test', { callTimeoutMs: 1_000 });
    group = conn.group;
  });
  afterAll(async () => {
    conn?.close();
    await etcd?.close();
  });

  /** Stands for leader under a fresh lease (no keepalive: the test decides when it ends). */
  const stand = async (): Promise<Fence> => {
    const res = await group.leaseClient.leaseGrant({ TTL: 30 });
    const leaseId = res.ID;
    const key = keys.election(leaseId);
    const txn = await group.if(key, 'Create', '==', 0).then(group.put(key).value('{}').lease(leaseId)).commit();
    expect(txn.succeeded).toBe(true);
    return { key, token: BigInt(txn.header.revision), leaseId };
  };
  const write = (f: Fence, value: string) => fencedCommit(group, f, [{ put: keys.plan('echo'), value }]);

  it('lets the leader write, and refuses it once its lease is gone, whoever leads then', async () => {
    const a = await stand();
    const b = await stand();
    expect(b.token).toBeGreaterThan(a.token);
    expect((await write(a, 'from-a')).kind).toBe('written');
    await group.leaseClient.leaseRevoke({ ID: a.leaseId });
    expect(await write(a, 'stale-a')).toEqual({ kind: 'fenced-out' });
    expect((await write(b, 'from-b')).kind).toBe('written');
    expect(await group.get(keys.plan('echo')).string()).toBe('from-b');
  });

  it('refuses a fence whose key was made again (a newer candidacy under the same lease)', async () => {
    const a = await stand();
    await group.delete().key(a.key);
    await group.put(a.key).value('{}').lease(a.leaseId);
    expect(await write(a, 'stale')).toEqual({ kind: 'fenced-out' });
  });

  it('holds across an etcd restart while the lease lives, and reports etcd down as unknown, not as refused', async () => {
    const a = await stand();
    await etcd.stop();
    const down = await write(a, 'while-down');
    expect(down.kind).toBe('unavailable');
    await etcd.start();
    let last: FencedOutcome | undefined;
    await waitFor(async () => (last = await write(a, 'after-restart')).kind !== 'unavailable', 10_000, 'etcd answering again');
    expect(last?.kind).toBe('written');
  });

  it('removes a key only at the revision it was read at', async () => {
    const a = await stand();
    await group.put('overrides/echo').value('v1');
    const rev = BigInt((await group.getAll().prefix('overrides/').exec()).kvs[0]!.mod_revision);
    await group.put('overrides/echo').value('v2');
    expect(await fencedCommit(group, a, [{ delete: 'overrides/echo', ifModRevision: rev }])).toEqual({ kind: 'fenced-out' });
    expect(await group.get('overrides/echo').string()).toBe('v2');
  });
});
