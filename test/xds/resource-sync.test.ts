import { describe, expect, it } from 'vitest';
import {
  clientResourceStatus,
  noteResponseAcked,
  noteResponseNacked,
  noteResponseSent,
  resourceConfigStatus,
  type ResourceTrack,
  type SentResponse,
} from '../../src/xds/resource-sync.js';
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
    const tracks = new Map<string, ResourceTrack>();
    noteResponseSent(tracks, sotw(1, 'V1', [res('a', 'a1'), res('b', 'b1')]));
    expect(resourceConfigStatus(tracks.get('a'), res('a', 'a1'))).toBe('STALE');
    expect(clientResourceStatus(tracks.get('a'), true)).toBe('REQUESTED');
    noteResponseAcked(tracks, 1, 15);
    // Only a changes in V2; b rides along unchanged.
    noteResponseSent(tracks, sotw(2, 'V2', [res('a', 'a2'), res('b', 'b1')]));
    noteResponseAcked(tracks, 2, 25);
    expect(tracks.get('a')?.accepted?.versionInfo).toBe('V2');
    expect(tracks.get('b')?.accepted?.versionInfo).toBe('V1');
    expect(resourceConfigStatus(tracks.get('b'), res('b', 'b1'))).toBe('SYNCED');
    expect(clientResourceStatus(tracks.get('b'), true)).toBe('ACKED');
    // The snapshot moved on and nothing was sent yet: STALE, not SYNCED.
    expect(resourceConfigStatus(tracks.get('a'), res('a', 'a3'))).toBe('STALE');
  });

  it('delta: each resource reports its own version', () => {
    const tracks = new Map<string, ResourceTrack>();
    noteResponseSent(tracks, { ...sotw(1, 'SYS1', [res('a', 'a1')]), perResourceVersions: true, complete: false });
    noteResponseAcked(tracks, 1, 15);
    expect(tracks.get('a')?.accepted?.versionInfo).toBe('a1');
  });

  it('a NACK marks the resources the detail names as rejected; the client keeps running the old one', () => {
    const tracks = new Map<string, ResourceTrack>();
    noteResponseSent(tracks, sotw(1, 'V1', [res('echo', 'e1'), res('echo2', 'f1')]));
    noteResponseAcked(tracks, 1, 15);
    noteResponseSent(tracks, sotw(2, 'V2', [res('echo', 'e2'), res('echo2', 'f2')]));
    noteResponseNacked(tracks, 2, 'Error adding/updating cluster(s) echo: Invalid path: /nonexistent/ca.pem', 25);
    const echo = tracks.get('echo');
    expect(resourceConfigStatus(echo, res('echo', 'e2'))).toBe('ERROR');
    expect(clientResourceStatus(echo, true)).toBe('NACKED');
    expect(echo?.accepted?.versionInfo).toBe('V1');
    expect(echo?.rejected).toMatchObject({ versionInfo: 'V2', detail: expect.stringContaining('/nonexistent') });
    // echo2 is a longer name that merely contains "echo": Envoy applied it (partial acceptance).
    expect(resourceConfigStatus(tracks.get('echo2'), res('echo2', 'f2'))).toBe('SYNCED');
    // The fix is accepted: the rejection is forgotten.
    noteResponseSent(tracks, sotw(3, 'V3', [res('echo', 'e3'), res('echo2', 'f2')]));
    noteResponseAcked(tracks, 3, 35);
    expect(tracks.get('echo')?.rejected).toBeUndefined();
    expect(resourceConfigStatus(tracks.get('echo'), res('echo', 'e3'))).toBe('SYNCED');
  });

  it('a NACK that names nothing blames every resource the response changed', () => {
    const tracks = new Map<string, ResourceTrack>();
    noteResponseSent(tracks, sotw(1, 'V1', [res('a', 'a1'), res('b', 'b1')]));
    noteResponseNacked(tracks, 1, 'malformed response', 15);
    expect(resourceConfigStatus(tracks.get('a'), res('a', 'a1'))).toBe('ERROR');
    expect(resourceConfigStatus(tracks.get('b'), res('b', 'b1'))).toBe('ERROR');
    expect(clientResourceStatus(tracks.get('a'), true)).toBe('NACKED');
  });

  it('removals: omission in a complete SotW response, or a delta removal, deletes once ACKed', () => {
    const tracks = new Map<string, ResourceTrack>();
    noteResponseSent(tracks, sotw(1, 'V1', [res('a', 'a1'), res('b', 'b1')]));
    noteResponseAcked(tracks, 1, 15);
    noteResponseSent(tracks, sotw(2, 'V2', [res('a', 'a1')]));
    expect(resourceConfigStatus(tracks.get('b'), undefined)).toBe('STALE');
    noteResponseAcked(tracks, 2, 25);
    expect(tracks.has('b')).toBe(false);

    noteResponseSent(tracks, { ...sotw(3, 'S3', [], false), removed: ['a'], perResourceVersions: true });
    expect(tracks.get('a')?.pending?.resource).toBeUndefined();
    noteResponseAcked(tracks, 3, 35);
    expect(tracks.size).toBe(0);
  });

  it('a SotW EDS response leaves out unchanged resources without deleting them', () => {
    const tracks = new Map<string, ResourceTrack>();
    noteResponseSent(tracks, sotw(1, 'V1', [res('a', 'a1'), res('b', 'b1')], false));
    noteResponseAcked(tracks, 1, 15);
    noteResponseSent(tracks, sotw(2, 'V2', [res('a', 'a2')], false));
    noteResponseAcked(tracks, 2, 25);
    expect(tracks.get('b')?.accepted?.versionInfo).toBe('V1');
  });

  it('an ACK of a later response also settles earlier ones; NOT_SENT / DOES_NOT_EXIST without a track', () => {
    const tracks = new Map<string, ResourceTrack>();
    noteResponseSent(tracks, sotw(1, 'V1', [res('a', 'a1')], false));
    noteResponseSent(tracks, sotw(2, 'V2', [res('b', 'b1')], false));
    noteResponseAcked(tracks, 2, 25);
    expect(tracks.get('a')?.accepted?.versionInfo).toBe('V1');
    expect(resourceConfigStatus(undefined, res('c', 'c1'))).toBe('NOT_SENT');
    expect(clientResourceStatus(undefined, false)).toBe('DOES_NOT_EXIST');
  });
});
