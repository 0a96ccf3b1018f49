import { describe, expect, it } from 'vitest';
import { loadProtos } from '../../src/protos/load-protos.js';
import { openDeltaSession } from '../../src/xds/delta-state.js';
import { ResponseBodies } from '../../src/xds/response-bodies.js';
import { REMEMBERED_NONCES_PER_TYPE, SentNonces } from '../../src/xds/sent-nonces.js';
import type { EncodedResource, Snapshot, TypeSnapshot } from '../../src/xds/snapshot.js';
import { openSotwSession } from '../../src/xds/sotw-state.js';
import { TypeUrl } from '../../src/xds/type-urls.js';

const { protos } = loadProtos();
const res = (typeUrl: TypeUrl, name: string, version: string): EncodedResource => ({ name, version, typeUrl, value: Buffer.from(version) });
const typeSnap = (typeUrl: TypeUrl, version: string, names: string[]): TypeSnapshot => ({
  version,
  resources: new Map(names.map((n) => [n, res(typeUrl, n, `${n}@${version}`)])),
});
const snapshot = (cds: string, eds: string): Snapshot => ({
  types: {
    [TypeUrl.Cluster]: typeSnap(TypeUrl.Cluster, cds, ['a']),
    [TypeUrl.Endpoint]: typeSnap(TypeUrl.Endpoint, eds, ['a']),
    [TypeUrl.Listener]: typeSnap(TypeUrl.Listener, 'l', []),
    [TypeUrl.Route]: typeSnap(TypeUrl.Route, 'r', []),
  },
});

describe('sent nonces (sent-nonces.ts)', () => {
  it("names the version each recent nonce of a type carried, forgets the oldest beyond the type's ring", () => {
    const sent = new SentNonces();
    for (let i = 1; i <= REMEMBERED_NONCES_PER_TYPE + 3; i++) sent.add(TypeUrl.Endpoint, `n${i}`, `v${i}`);
    expect(sent.versionOf(TypeUrl.Endpoint, `n${REMEMBERED_NONCES_PER_TYPE + 3}`)).toBe(`v${REMEMBERED_NONCES_PER_TYPE + 3}`);
    expect(sent.versionOf(TypeUrl.Endpoint, 'n4')).toBe('v4');
    expect(sent.versionOf(TypeUrl.Endpoint, 'n3')).toBeUndefined();
    // A nonce is only ever the answer for the type it was sent for.
    expect(sent.versionOf(TypeUrl.Cluster, 'n4')).toBeUndefined();
  });

  it('a late CDS answer keeps its version however many EDS responses went out since (both protocols)', () => {
    let seq = 0;
    const nextNonce = (): string => `n${++seq}`;
    const bodies = new ResponseBodies(protos);
    const sotw = openSotwSession(bodies, nextNonce);
    const delta = openDeltaSession(bodies, nextNonce);
    const first = snapshot('c1', 'e0');
    sotw.onRequest(TypeUrl.Cluster, { version_info: '', response_nonce: '', resource_names: [] } as never, undefined, first);
    sotw.onRequest(TypeUrl.Endpoint, { version_info: '', response_nonce: '', resource_names: ['a'] } as never, undefined, first);
    delta.onRequest(
      TypeUrl.Cluster,
      { resource_names_subscribe: [], resource_names_unsubscribe: [], initial_resource_versions: {}, response_nonce: '' } as never,
      undefined,
      first,
    );
    delta.onRequest(
      TypeUrl.Endpoint,
      { resource_names_subscribe: ['a'], resource_names_unsubscribe: [], initial_resource_versions: {}, response_nonce: '' } as never,
      undefined,
      first,
    );
    const cdsNonce = {
      sotw: sotw.respond(TypeUrl.Cluster, first, false).sent!.nonce,
      delta: delta.respond(TypeUrl.Cluster, first, false).sent!.nonce,
    };
    // Twice the ring's length of EDS pushes, none of them answered yet.
    for (let i = 1; i <= 2 * REMEMBERED_NONCES_PER_TYPE; i++) {
      const s = snapshot('c1', `e${i}`);
      expect(sotw.respond(TypeUrl.Endpoint, s, false).sent).toBeDefined();
      expect(delta.respond(TypeUrl.Endpoint, s, false).sent).toBeDefined();
    }
    const nack = sotw.onRequest(
      TypeUrl.Cluster,
      { version_info: '', response_nonce: cdsNonce.sotw, resource_names: [] } as never,
      'bad cluster',
      first,
    );
    expect(nack).toMatchObject({ kind: 'nack', version: 'c1' });
    const ack = delta.onRequest(
      TypeUrl.Cluster,
      {
        resource_names_subscribe: [],
        resource_names_unsubscribe: [],
        initial_resource_versions: {},
        response_nonce: cdsNonce.delta,
      } as never,
      undefined,
      first,
    );
    expect(ack).toMatchObject({ kind: 'ack', version: 'c1' });
  });
});
