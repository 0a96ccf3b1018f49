import { beforeEach, describe, expect, it } from 'vitest';
import { SyncStatus, type AckLatencySample, type SyncStatusRow } from '../../src/xds/sync-status.js';
import { nodeInfoOf } from '../../src/xds/node-info.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import { XdsEvents } from '../../src/xds/xds-events.js';
import { VirtualTime } from '../support/virtual-time.js';

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.Endpoint;

describe('SyncStatus', () => {
  let time: VirtualTime;
  let events: XdsEvents;
  let current: Partial<Record<TypeUrl, string>>;
  let status: SyncStatus;
  let nonce: number;

  beforeEach(() => {
    time = new VirtualTime();
    events = new XdsEvents();
    current = {};
    status = new SyncStatus({ clock: time, events, currentVersion: (t) => current[t], types: [CDS, EDS] });
    nonce = 0;
  });

  const open = (nodeId: string, streamId: number): void =>
    events.emit({
      kind: 'stream-opened',
      streamId,
      nodeId,
      cluster: 'edge',
      node: nodeInfoOf({ id: nodeId, cluster: 'edge' }),
      protocol: 'sotw',
      atMs: time.nowMs(),
    });
  const send = (nodeId: string, streamId: number, typeUrl: TypeUrl, version: string): string => {
    const n = String(++nonce);
    events.emit({
      kind: 'sent',
      streamId,
      nodeId,
      typeUrl,
      version,
      nonce: n,
      resources: 2,
      bytes: 100,
      content: [],
      removed: [],
      atMs: time.nowMs(),
    });
    return n;
  };
  const ack = (nodeId: string, streamId: number, typeUrl: TypeUrl, version: string, n: string): void =>
    events.emit({ kind: 'ack', streamId, nodeId, typeUrl, version, nonce: n, atMs: time.nowMs() });
  const nack = (nodeId: string, streamId: number, typeUrl: TypeUrl, version: string, n: string, detail: string): void =>
    events.emit({ kind: 'nack', streamId, nodeId, typeUrl, version, nonce: n, detail, atMs: time.nowMs() });
  const row = (nodeId: string, typeUrl: TypeUrl): SyncStatusRow | undefined =>
    status.snapshot().rows.find((r) => r.nodeId === nodeId && r.typeUrl === typeUrl);

  it('goes NOT_SENT → STALE → SYNCED, and STALE again when the cache moves on', async () => {
    current[CDS] = 'v1';
    open('envoy-a', 1);
    expect(status.node('envoy-a').map((r) => [r.type, r.status])).toEqual([
      ['CDS', 'NOT_SENT'],
      ['EDS', 'NOT_SENT'],
    ]);

    const n1 = send('envoy-a', 1, CDS, 'v1');
    expect(row('envoy-a', CDS)?.status).toBe('STALE');
    await time.advance(30);
    ack('envoy-a', 1, CDS, 'v1', n1);
    expect(row('envoy-a', CDS)).toMatchObject({
      status: 'SYNCED',
      currentVersion: 'v1',
      sent: { version: 'v1', nonce: n1, resources: 2, bytes: 100 },
      acked: { version: 'v1', nonce: n1, atMs: time.nowMs() },
      nodeCluster: 'edge',
      streamId: 1,
    });

    // The cache publishes v2 but this node has not been sent it yet.
    current[CDS] = 'v2';
    expect(row('envoy-a', CDS)?.status).toBe('STALE');
    const n2 = send('envoy-a', 1, CDS, 'v2');
    ack('envoy-a', 1, CDS, 'v2', n2);
    expect(row('envoy-a', CDS)?.status).toBe('SYNCED');
    expect(row('envoy-a', EDS)?.status).toBe('NOT_SENT');
  });

  it('says since when a node lacks what it should run: the publish after its ACKed version, never before it connected', async () => {
    const t0 = time.nowMs();
    current[CDS] = 'v1';
    status.notePublished(CDS, 'v1', time.nowMs());
    await time.advance(100);
    open('envoy-a', 1);
    expect(row('envoy-a', CDS)?.unsyncedSinceMs).toBe(t0 + 100);
    const n1 = send('envoy-a', 1, CDS, 'v1');
    ack('envoy-a', 1, CDS, 'v1', n1);
    expect(row('envoy-a', CDS)?.unsyncedSinceMs).toBeUndefined();
    await time.advance(900);
    current[CDS] = 'v2';
    status.notePublished(CDS, 'v2', time.nowMs());
    await time.advance(1000);
    current[CDS] = 'v3';
    status.notePublished(CDS, 'v3', time.nowMs());
    // Behind since v2, the first version after the one it runs, however many follow.
    expect(row('envoy-a', CDS)).toMatchObject({ status: 'STALE', unsyncedSinceMs: t0 + 1000 });
    const n3 = send('envoy-a', 1, CDS, 'v3');
    nack('envoy-a', 1, CDS, 'v1', n3, 'rejected');
    expect(row('envoy-a', CDS)).toMatchObject({ status: 'ERROR', unsyncedSinceMs: t0 + 1000 });
    expect(row('envoy-a', CDS)).toMatchObject({ protocol: 'sotw', connectedAtMs: t0 + 100, node: { id: 'envoy-a', cluster: 'edge' } });
  });

  it('shows ERROR for the node that NACKed only, while another node is SYNCED', () => {
    current[EDS] = 'v2';
    open('envoy-a', 1);
    open('envoy-b', 2);
    const na = send('envoy-a', 1, EDS, 'v2');
    const nb = send('envoy-b', 2, EDS, 'v2');
    ack('envoy-a', 1, EDS, 'v2', na);
    // A NACK carries the version the Envoy still runs.
    nack('envoy-b', 2, EDS, 'v1', nb, 'duplicate locality');

    expect(row('envoy-a', EDS)?.status).toBe('SYNCED');
    expect(row('envoy-b', EDS)).toMatchObject({
      status: 'ERROR',
      lastNack: { version: 'v1', nonce: nb, detail: 'duplicate locality', atMs: time.nowMs() },
    });
    expect(row('envoy-a', EDS)?.lastNack).toBeUndefined();

    // A corrected response clears the error once ACKed; the NACK stays visible for debugging.
    current[EDS] = 'v3';
    const nb2 = send('envoy-b', 2, EDS, 'v3');
    expect(row('envoy-b', EDS)?.status).toBe('STALE');
    ack('envoy-b', 2, EDS, 'v3', nb2);
    expect(row('envoy-b', EDS)).toMatchObject({ status: 'SYNCED', lastNack: { detail: 'duplicate locality' } });
    expect(row('envoy-a', EDS)?.status).toBe('STALE');
  });

  it('keeps a response STALE until the ACK for its own nonce arrives, and counts stale nonces', () => {
    open('envoy-a', 1);
    const n1 = send('envoy-a', 1, CDS, 'v1');
    const n2 = send('envoy-a', 1, CDS, 'v2');
    ack('envoy-a', 1, CDS, 'v1', n1);
    events.emit({ kind: 'stale-nonce', streamId: 1, nodeId: 'envoy-a', typeUrl: CDS, nonce: n1, atMs: time.nowMs() });
    expect(row('envoy-a', CDS)).toMatchObject({ status: 'STALE', staleNonces: 1 });
    ack('envoy-a', 1, CDS, 'v2', n2);
    // No current version known: ACKing the last response sent is SYNCED.
    expect(row('envoy-a', CDS)?.status).toBe('SYNCED');
  });

  it('starts a reconnected node from scratch and ignores its old stream; forgets closed nodes', () => {
    current[CDS] = 'v1';
    open('envoy-a', 1);
    ack('envoy-a', 1, CDS, 'v1', send('envoy-a', 1, CDS, 'v1'));
    open('envoy-a', 2);
    expect(row('envoy-a', CDS)).toMatchObject({ status: 'NOT_SENT', streamId: 2 });
    // Late events and the close of the replaced stream change nothing.
    nack('envoy-a', 1, CDS, 'v0', '99', 'late');
    events.emit({ kind: 'stream-closed', streamId: 1, nodeId: 'envoy-a', atMs: time.nowMs() });
    expect(row('envoy-a', CDS)).toMatchObject({ status: 'NOT_SENT', streamId: 2 });

    events.emit({ kind: 'stream-closed', streamId: 2, nodeId: 'envoy-a', atMs: time.nowMs() });
    expect(status.snapshot().rows).toEqual([]);
    expect(status.node('envoy-a')).toEqual([]);
  });

  it('measures publish-to-ACK latency once per node and version', async () => {
    const samples: AckLatencySample[] = [];
    status.onAckLatency((s) => samples.push(s));
    open('envoy-a', 1);
    open('envoy-b', 2);

    current[EDS] = 'v1';
    status.notePublished(EDS, 'v1', time.nowMs());
    const na = send('envoy-a', 1, EDS, 'v1');
    const nb = send('envoy-b', 2, EDS, 'v1');
    await time.advance(40);
    ack('envoy-a', 1, EDS, 'v1', na);
    await time.advance(110);
    ack('envoy-b', 2, EDS, 'v1', nb);

    expect(samples.map((s) => [s.nodeId, s.version, s.latencyMs])).toEqual([
      ['envoy-a', 'v1', 40],
      ['envoy-b', 'v1', 150],
    ]);
    expect(row('envoy-b', EDS)?.lastPublishToAckMs).toBe(150);

    // After a reconnect Envoy re-ACKs what it already had: that is not a rollout, so no sample.
    open('envoy-a', 3);
    await time.advance(5000);
    ack('envoy-a', 3, EDS, 'v1', send('envoy-a', 3, EDS, 'v1'));
    expect(samples).toHaveLength(2);
    // Unknown publish time (e.g. a version published before SyncStatus existed): no sample.
    ack('envoy-b', 2, EDS, 'v0', send('envoy-b', 2, EDS, 'v0'));
    expect(samples).toHaveLength(2);
    // The same after the old stream closed first.
    events.emit({ kind: 'stream-closed', streamId: 3, nodeId: 'envoy-a', atMs: time.nowMs() });
    open('envoy-a', 4);
    ack('envoy-a', 4, EDS, 'v1', send('envoy-a', 4, EDS, 'v1'));
    expect(samples).toHaveLength(2);
    // A stream that comes and goes without a word does not wipe that memory (nor does a replace).
    events.emit({ kind: 'stream-closed', streamId: 4, nodeId: 'envoy-a', atMs: time.nowMs() });
    open('envoy-a', 5);
    events.emit({ kind: 'stream-closed', streamId: 5, nodeId: 'envoy-a', atMs: time.nowMs() });
    open('envoy-a', 6);
    open('envoy-a', 7);
    await time.advance(300_000);
    ack('envoy-a', 7, EDS, 'v1', send('envoy-a', 7, EDS, 'v1'));
    expect(samples).toHaveLength(2);
    // A new version after the reconnect is measured.
    status.notePublished(EDS, 'v2', time.nowMs());
    await time.advance(7);
    ack('envoy-a', 7, EDS, 'v2', send('envoy-a', 7, EDS, 'v2'));
    expect(samples.at(-1)).toMatchObject({ nodeId: 'envoy-a', version: 'v2', latencyMs: 7 });
  });

  it('a publish turns a SYNCED row STALE, and events after close change nothing', () => {
    open('envoy-a', 1);
    current[CDS] = 'v1';
    const n = send('envoy-a', 1, CDS, 'v1');
    ack('envoy-a', 1, CDS, 'v1', n);
    expect(status.node('envoy-a').map((r) => r.status)).toEqual(['SYNCED', 'NOT_SENT']);
    current[CDS] = 'v2';
    status.notePublished(CDS, 'v2', time.nowMs());
    expect(status.node('envoy-a').map((r) => r.status)).toEqual(['STALE', 'NOT_SENT']);
    status.close();
    open('envoy-b', 2);
    expect(status.snapshot().rows.map((r) => r.nodeId)).toEqual(['envoy-a', 'envoy-a']);
  });
});
