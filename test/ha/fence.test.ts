// Fenced writes against a real etcd: only the candidate whose election key still stands, under the
// create revision it was elected with and bound to its lease, can write.
import { describe, expect, it } from 'vitest';
import { fencedCommit, type Fence, type FencedOutcome } from '../../src/ha/fence.js';
import { keys } from '../../src/ha/keys.js';
import { waitFor } from '../../tools/wait-for.js';
import { realEtcdGroup, standForLeader } from '../support/etcd-group.js';

describe('fenced writes (real etcd)', () => {
  const real = realEtcdGroup('/spillway/fence-test');
  const stand = (): Promise<Fence> => standForLeader(real.group);
  const write = (f: Fence, value: string) => fencedCommit(real.group, f, [{ put: keys.plan('echo'), value }]);

  it('lets the leader write, and refuses it once its lease is gone, whoever leads then', async () => {
    const a = await stand();
    const b = await stand();
    expect(b.token).toBeGreaterThan(a.token);
    expect((await write(a, 'from-a')).kind).toBe('written');
    await real.group.leaseClient.leaseRevoke({ ID: a.leaseId });
    expect(await write(a, 'stale-a')).toEqual({ kind: 'fenced-out' });
    expect((await write(b, 'from-b')).kind).toBe('written');
    expect(await real.group.get(keys.plan('echo')).string()).toBe('from-b');
  });

  it('refuses a fence whose key was made again (a newer candidacy under the same lease)', async () => {
    const a = await stand();
    await real.group.delete().key(a.key);
    await real.group.put(a.key).value('{}').lease(a.leaseId);
    expect(await write(a, 'stale')).toEqual({ kind: 'fenced-out' });
  });

  it('holds across an etcd restart while the lease lives, and reports etcd down as unknown, not as refused', async () => {
    const a = await stand();
    await real.etcd.stop();
    const down = await write(a, 'while-down');
    expect(down.kind).toBe('unavailable');
    await real.etcd.start();
    let last: FencedOutcome | undefined;
    await waitFor(async () => (last = await write(a, 'after-restart')).kind !== 'unavailable', 10_000, 'etcd answering again');
    expect(last?.kind).toBe('written');
  });

  it('removes a key only at the revision it was read at', async () => {
    const a = await stand();
    await real.group.put('overrides/echo').value('v1');
    const rev = BigInt((await real.group.getAll().prefix('overrides/').exec()).kvs[0]!.mod_revision);
    await real.group.put('overrides/echo').value('v2');
    expect(await fencedCommit(real.group, a, [{ delete: 'overrides/echo', ifModRevision: rev }])).toEqual({ kind: 'fenced-out' });
    expect(await real.group.get('overrides/echo').string()).toBe('v2');
  });
});
