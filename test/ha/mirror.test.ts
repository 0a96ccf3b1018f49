// A replica's copy of the group's keys against a real etcd: it starts from a consistent read, follows
// every change in order (a transaction arrives as one batch), and when it loses etcd while the
// history it would resume from is compacted, it reads everything again and ends up with exactly
// what etcd holds. The copy reaches etcd through a TCP proxy the test can cut.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.js';
import { realScheduler } from '../../src/core/scheduler.js';
import { connectEtcd, type EtcdConnection } from '../../src/ha/etcd-client.js';
import { GroupMirror, MirrorOrigin, type MirrorChange } from '../../src/ha/mirror.js';
import { startEtcd, type EtcdHandle } from '../../tools/etcd/etcd-process.js';
import { waitFor } from '../../tools/wait-for.js';

const PREFIX = '/spillway/mirror-test';

/** A TCP proxy to etcd that can be cut (every connection dropped, new ones refused) and restored. */
async function cuttableProxy(target: URL): Promise<{ url: string; cut(): void; restore(): void; close(): Promise<void> }> {
  let open = true;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (!open) return void client.destroy();
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    cut: () => {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore: () => {
      open = true;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('group mirror (real etcd)', () => {
  let etcd: EtcdHandle;
  let conn: EtcdConnection;
  let writer: Etcd3;
  let mirror: GroupMirror;
  let proxy: Awaited<ReturnType<typeof cuttableProxy>>;
  let logText = '';
  const capture = createLogger({
    level: 'info',
    destination: new Writable({
      write(chunk: Buffer, _enc, cb) {
        logText += chunk.toString();
        cb();
      },
    }),
  });
  const batches: MirrorChange[][] = [];
  const origins: MirrorOrigin[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
    writer = new Etcd3({ hosts: etcd.url });
    await writer.put(`${PREFIX}/plans/echo`).value('p1');
    await writer.put('/elsewhere/plans/echo').value('not ours');
    proxy = await cuttableProxy(new URL(etcd.url));
    conn = connectEtcd({ endpoints: [proxy.url] }, PREFIX, { callTimeoutMs: 1_000 });
    mirror = new GroupMirror({ group: conn.group, scheduler: realScheduler, logger: capture });
    mirror.onChanges((c, origin) => {
      batches.push([...c]);
      origins.push(origin);
    });
    await mirror.start();
  });
  afterAll(async () => {
    await mirror?.close();
    conn?.close();
    writer?.close();
    await proxy?.close();
    await etcd?.close();
  });

  const values = (): Record<string, string> => Object.fromEntries(mirror.list('').map((e) => [e.key, e.value]));

  it('starts from what the group holds, and only the group', () => {
    expect(values()).toEqual({ 'plans/echo': 'p1' });
    expect(batches).toHaveLength(1);
    expect(origins).toEqual([MirrorOrigin.Read]);
    expect(mirror.connected()).toBe(true);
  });

  it('follows puts and deletes in order, a transaction as one batch', async () => {
    const before = batches.length;
    const ns = writer.namespace(`${PREFIX}/`);
    const txn = await ns
      .if('plans/echo', 'Value', '==', 'p1')
      .then(ns.put('plans/echo').value('p2'), ns.put('controller/echo').value('m2'))
      .commit();
    await mirror.reached(BigInt(txn.header.revision));
    expect(batches.slice(before).map((b) => b.map((c) => (c.kind === 'put' ? `put ${c.entry.key}` : `delete ${c.key}`)))).toEqual([
      ['put plans/echo', 'put controller/echo'],
    ]);
    // Written while the copy followed: from the watch, so the group's readers may take it as just made.
    expect(origins.slice(before)).toEqual([MirrorOrigin.Watch]);
    const del = await ns.delete().key('controller/echo');
    await mirror.reached(BigInt(del.header.revision));
    expect(values()).toEqual({ 'plans/echo': 'p2' });
  });

  it('after losing etcd while the history it would resume from was compacted, holds exactly what etcd holds', async () => {
    const ns = writer.namespace(`${PREFIX}/`);
    await ns.put('cordons/echo/10.0.0.1:80').value('c1');
    await waitFor(() => values()['cordons/echo/10.0.0.1:80'] === 'c1', 5_000, 'the cordon in the copy');
    proxy.cut();
    await waitFor(() => !mirror.connected(), 5_000, 'the copy to notice etcd gone');
    await ns.delete().key('cordons/echo/10.0.0.1:80');
    await ns.put('overrides/echo').value('o1');
    const res = await ns.put('plans/echo').value('p3');
    await writer.kv.compact({ revision: res.header.revision, physical: true });
    // What the copy saw stays while etcd is away.
    expect(values()).toEqual({ 'plans/echo': 'p2', 'cordons/echo/10.0.0.1:80': 'c1' });
    proxy.restore();
    await waitFor(
      () => mirror.connected() && values()['plans/echo'] === 'p3',
      15_000,
      () => `the copy back in step (${JSON.stringify(values())})`,
    );
    expect(values()).toEqual({ 'plans/echo': 'p3', 'overrides/echo': 'o1' });
    expect(logText).toContain('etcd watch cancelled; reading the group state again');
    expect(batches.at(-1)?.find((c) => c.kind === 'delete')).toMatchObject({ key: 'cordons/echo/10.0.0.1:80' });
    // Caught up by reading the group again: history, not news.
    expect(origins.at(-1)).toBe(MirrorOrigin.Read);
  });
});
