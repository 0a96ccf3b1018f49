import { describe, expect, it } from 'vitest';
import { clientResourceStatus, resourceConfigStatus, ResourceLedger, type SentResponse } from '../../src/xds/resource-sync.js';
import type { EncodedResource } from '../../src/xds/snapshot.js';
import { TypeUrl } from '../../src/xds/type-urls.js';

const res = (name: string, version: string): EncodedResource => ({
  name,
  version,
  typeUrl: TypeUrl.Cluster,
  value: Buffer.from(`${name}:${version}`),
});

const sotw = (seq: number, versionInfo: string, resources: EncodedResource[], complete = true): SentResponse => ({
  resources,
  removed: [],
  complete,
  perResourceVersions: false,
  versionInfo,
  seq,
  nonce: `n${seq}`,
  atMs: seq * 10,
});

describe('per-resource sync (resource-sync.ts)', () => {
  it('SotW: a resource keeps the version_info of the response that last changed it (as Envoy reports it)', () => {
    const ledger = new ResourceLedger();
    ledger.sent(sotw(1, 'V1', [res('a', 'a1'), res('b', 'b1')]));
    expect(resourceConfigStatus(ledger.tracks().get('a'), res('a', 'a1'))).toBe('STALE');
    expect(clientResourceStatus(ledger.tracks().get('a'), true)).toBe('REQUESTED');
    ledger.acked(1, 15);
    // Only a changes in V2; b rides along unchanged.
    ledger.sent(sotw(2, 'V2', [res('a', 'a2'), res('b', 'b1')]));
    ledger.acked(2, 25);
    expect(ledger.tracks().get('a')?.accepted?.versionInfo).toBe('V2');
    expect(ledger.tracks().get('b')?.accepted?.versionInfo).toBe('V1');
    expect(resourceConfigStatus(ledger.tracks().get('b'), res('b', 'b1'))).toBe('SYNCED');
    expect(clientResourceStatus(ledger.tracks().get('b'), true)).toBe('ACKED');
    // The snapshot moved on and nothing was sent yet: STALE, not SYNCED.
    expect(resourceConfigStatus(ledger.tracks().get('a'), res('a', 'a3'))).toBe('STALE');
  });

  it('delta: each resource reports its own version', () => {
    const ledger = new ResourceLedger();
    ledger.sent({ ...sotw(1, 'SYS1', [res('a', 'a1')]), perResourceVersions: true, complete: false });
    ledger.acked(1, 15);
    expect(ledger.tracks().get('a')?.accepted?.versionInfo).toBe('a1');
  });

  it('a NACK marks the resources the detail names as rejected; the client keeps running the old one', () => {
    const ledger = new ResourceLedger();
    ledger.sent(sotw(1, 'V1', [res('echo', 'e1'), res('echo2', 'f1')]));
    ledger.acked(1, 15);
    ledger.sent(sotw(2, 'V2', [res('echo', 'e2'), res('echo2', 'f2')]));
    ledger.nacked(2, 'Error adding/updating cluster(s) echo: Invalid path: /nonexistent/ca.pem', 25);
    const echo = ledger.tracks().get('echo');
    expect(resourceConfigStatus(echo, res('echo', 'e2'))).toBe('ERROR');
    expect(clientResourceStatus(echo, true)).toBe('NACKED');
    expect(echo?.accepted?.versionInfo).toBe('V1');
    expect(echo?.rejected).toMatchObject({ versionInfo: 'V2', detail: expect.stringContaining('/nonexistent') });
    // echo2 is a longer name that merely contains "echo": Envoy applied it (partial acceptance).
    expect(resourceConfigStatus(ledger.tracks().get('echo2'), res('echo2', 'f2'))).toBe('SYNCED');
    // The fix is accepted: the rejection is forgotten.
    ledger.sent(sotw(3, 'V3', [res('echo', 'e3'), res('echo2', 'f2')]));
    ledger.acked(3, 35);
    expect(ledger.tracks().get('echo')?.rejected).toBeUndefined();
    expect(resourceConfigStatus(ledger.tracks().get('echo'), res('echo', 'e3'))).toBe('SYNCED');
  });

  it('a NACK that names nothing blames every resource the response changed', () => {
    const ledger = new ResourceLedger();
    ledger.sent(sotw(1, 'V1', [res('a', 'a1'), res('b', 'b1')]));
    ledger.nacked(1, 'malformed response', 15);
    expect(resourceConfigStatus(ledger.tracks().get('a'), res('a', 'a1'))).toBe('ERROR');
    expect(resourceConfigStatus(ledger.tracks().get('b'), res('b', 'b1'))).toBe('ERROR');
    expect(clientResourceStatus(ledger.tracks().get('a'), true)).toBe('NACKED');
  });

  it('removals: omission in a complete SotW response, or a delta removal, deletes once ACKed', () => {
    const ledger = new ResourceLedger();
    ledger.sent(sotw(1, 'V1', [res('a', 'a1'), res('b', 'b1')]));
    ledger.acked(1, 15);
    ledger.sent(sotw(2, 'V2', [res('a', 'a1')]));
    expect(resourceConfigStatus(ledger.tracks().get('b'), undefined)).toBe('STALE');
    ledger.acked(2, 25);
    expect(ledger.tracks().has('b')).toBe(false);

    ledger.sent({ ...sotw(3, 'S3', [], false), removed: ['a'], perResourceVersions: true });
    expect(ledger.tracks().get('a')?.pending?.resource).toBeUndefined();
    ledger.acked(3, 35);
    expect(ledger.size).toBe(0);
  });

  it('a removal keeps every other resource as it was, with its version_info and acceptance time', () => {
    const ledger = new ResourceLedger();
    ledger.sent(sotw(1, 'V1', [res('a', 'a1'), res('b', 'b1'), res('c', 'c1')]));
    ledger.acked(1, 15);
    ledger.sent(sotw(2, 'V2', [res('b', 'b1'), res('c', 'c2')]));
    ledger.acked(2, 25);
    const tracks = ledger.tracks();
    expect([...tracks.keys()].sort()).toEqual(['b', 'c']);
    expect(tracks.get('b')?.accepted).toMatchObject({ versionInfo: 'V1', atMs: 15, resource: { version: 'b1' } });
    expect(tracks.get('c')?.accepted).toMatchObject({ versionInfo: 'V2', atMs: 25, resource: { version: 'c2' } });
    ledger.sent(sotw(3, 'V3', [res('a', 'a2'), res('b', 'b2'), res('c', 'c2')]));
    ledger.acked(3, 35);
    expect(ledger.tracks().get('a')?.accepted).toMatchObject({ versionInfo: 'V3', atMs: 35 });
    expect(ledger.tracks().get('b')?.accepted).toMatchObject({ versionInfo: 'V3', resource: { version: 'b2' } });
    expect(ledger.tracks().get('c')?.accepted).toMatchObject({ versionInfo: 'V2', atMs: 25 });
  });

  it('streams running the same configuration keep their own acceptance times and rejections', () => {
    // Envoys that applied the same changes share what they run; when each accepted it is their own.
    const early = new ResourceLedger();
    const late = new ResourceLedger();
    for (const [ledger, t] of [
      [early, 15],
      [late, 95],
    ] as const) {
      ledger.sent(sotw(1, 'V1', [res('a', 'a1'), res('b', 'b1')]));
      ledger.acked(1, t);
    }
    early.sent(sotw(2, 'V2', [res('a', 'a2'), res('b', 'b1')]));
    early.nacked(2, 'cluster a: bad', 30);
    late.sent(sotw(2, 'V2', [res('a', 'a2'), res('b', 'b1')]));
    late.acked(2, 100);
    expect(early.tracks().get('a')).toMatchObject({ accepted: { versionInfo: 'V1', atMs: 15 }, rejected: { versionInfo: 'V2' } });
    expect(late.tracks().get('a')).toMatchObject({ accepted: { versionInfo: 'V2', atMs: 100 }, rejected: undefined });
    expect(early.tracks().get('b')?.accepted?.atMs).toBe(15);
    expect(late.tracks().get('b')?.accepted?.atMs).toBe(95);
    // What they run is one shared copy: the late stream holds the content objects the early one got.
    expect(late.tracks().get('b')?.accepted?.resource).toBe(early.tracks().get('b')?.accepted?.resource);
  });

  it('a SotW EDS response leaves out unchanged resources without deleting them', () => {
    const ledger = new ResourceLedger();
    ledger.sent(sotw(1, 'V1', [res('a', 'a1'), res('b', 'b1')], false));
    ledger.acked(1, 15);
    ledger.sent(sotw(2, 'V2', [res('a', 'a2')], false));
    ledger.acked(2, 25);
    expect(ledger.tracks().get('b')?.accepted?.versionInfo).toBe('V1');
  });

  it('an ACK of a later response also settles earlier ones; NOT_SENT / DOES_NOT_EXIST without a track', () => {
    const ledger = new ResourceLedger();
    ledger.sent(sotw(1, 'V1', [res('a', 'a1')], false));
    ledger.sent(sotw(2, 'V2', [res('b', 'b1')], false));
    ledger.acked(2, 25);
    expect(ledger.tracks().get('a')?.accepted?.versionInfo).toBe('V1');
    expect(resourceConfigStatus(undefined, res('c', 'c1'))).toBe('NOT_SENT');
    expect(clientResourceStatus(undefined, false)).toBe('DOES_NOT_EXIST');
  });
});
