import { describe, expect, it } from 'vitest';
import type { EncodedResource, TypeSnapshot } from '../../src/xds/snapshot.js';
import { afterSend, heldVersions, onSotwRequest, pendingResponse, type SotwTypeState } from '../../src/xds/sotw-state.js';
import { TypeUrl } from '../../src/xds/type-urls.js';

const res = (typeUrl: TypeUrl, name: string, version: string): EncodedResource => ({ name, version, typeUrl, value: Buffer.from(version) });
const snap = (typeUrl: TypeUrl, items: Array<[string, string]>, version = 'v'): TypeSnapshot => ({
  version,
  resources: new Map(items.map(([n, v]) => [n, res(typeUrl, n, v)])),
});
const req = (
  typeUrl: TypeUrl,
  over: Partial<{ versionInfo: string; nonce: string; names: string[]; errorDetail: string; sentVersion: string }> = {},
) => ({
  typeUrl,
  versionInfo: over.versionInfo ?? '',
  nonce: over.nonce ?? '',
  names: over.names ?? [],
  ...(over.errorDetail !== undefined ? { errorDetail: over.errorDetail } : {}),
  ...(over.sentVersion !== undefined ? { sentVersion: over.sentVersion } : {}),
});

/** Runs INIT then one send, returning the state as the client saw it (nonce n1). */
function initAndSend(typeUrl: TypeUrl, names: string[], s: TypeSnapshot): SotwTypeState {
  const init = onSotwRequest(undefined, req(typeUrl, { names }));
  return afterSend(init.state, s, 'n1');
}

describe('SotW decision table', () => {
  const cds = snap(
    TypeUrl.Cluster,
    [
      ['a', '1'],
      ['b', '1'],
    ],
    'c1',
  );
  const eds = snap(
    TypeUrl.Endpoint,
    [
      ['a', '1'],
      ['b', '1'],
    ],
    'e1',
  );

  it('INIT: an empty CDS list is the legacy wildcard and gets every cluster', () => {
    const o = onSotwRequest(undefined, req(TypeUrl.Cluster));
    expect(o.kind).toBe('init');
    expect(o.state.wildcard).toBe(true);
    expect(pendingResponse(o.state, cds, o.namesAdded)?.map((r) => r.name)).toEqual(['a', 'b']);
  });

  it('INIT on EDS is by name; names that do not exist yet are remembered and sent when they appear', () => {
    const st = initAndSend(TypeUrl.Endpoint, ['a', 'zz'], eds);
    expect([...heldVersions(st).keys()]).toEqual(['a']);
    expect(st.names.has('zz')).toBe(true);
    const later = snap(
      TypeUrl.Endpoint,
      [
        ['a', '1'],
        ['b', '1'],
        ['zz', '1'],
      ],
      'e2',
    );
    // Only what the client lacks: 'a' is unchanged and need not travel again.
    expect(pendingResponse(st, later, false)?.map((r) => r.name)).toEqual(['zz']);
  });

  it('EDS pushes carry only the changed CLAs, and the client is then known to hold all of them', () => {
    const st = initAndSend(TypeUrl.Endpoint, ['a', 'b'], eds);
    const next = snap(
      TypeUrl.Endpoint,
      [
        ['a', '1'],
        ['b', '2'],
      ],
      'e2',
    );
    const out = pendingResponse(st, next, false)!;
    expect(out.map((r) => [r.name, r.version])).toEqual([['b', '2']]);
    const after = afterSend(st, next, 'n2');
    expect([...heldVersions(after).entries()].sort()).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
    expect(pendingResponse(after, next, false)).toBeUndefined();
  });

  it('a reconnect (empty nonce, last accepted version) is answered in full', () => {
    const o = onSotwRequest(undefined, req(TypeUrl.Cluster, { versionInfo: 'c1' }));
    expect(o.kind).toBe('init');
    expect(o.respond).toBe(true);
    expect(pendingResponse(o.state, cds, o.namesAdded)).toHaveLength(2);
  });

  it('ACK with unchanged names: recorded, nothing resent for identical content', () => {
    const st = initAndSend(TypeUrl.Cluster, [], cds);
    const o = onSotwRequest(st, req(TypeUrl.Cluster, { versionInfo: 'c1', nonce: 'n1' }));
    expect(o.kind).toBe('ack');
    expect(o.state.ackedVersion).toBe('c1');
    expect(o.respond).toBe(false);
    expect(pendingResponse(o.state, cds, false)).toBeUndefined();
  });

  it('NACK is recognised by error_detail, not by version, and is never answered', () => {
    const st = initAndSend(TypeUrl.Cluster, [], cds);
    const o = onSotwRequest(st, req(TypeUrl.Cluster, { versionInfo: '', nonce: 'n1', errorDetail: 'bad cluster', sentVersion: 'c1' }));
    expect(o.kind).toBe('nack');
    expect(o.respond).toBe(false);
    expect(o.state.lastNack).toEqual({ version: 'c1', nonce: 'n1', detail: 'bad cluster' });
    // The rejected content is what the stream was sent: unchanged state produces no resend.
    expect(pendingResponse(o.state, cds, false)).toBeUndefined();
    // New content is sent.
    expect(
      pendingResponse(
        o.state,
        snap(
          TypeUrl.Cluster,
          [
            ['a', '2'],
            ['b', '1'],
          ],
          'c2',
        ),
        false,
      ),
    ).toHaveLength(2);
  });

  it('a stale nonce gets no response but its names are recorded', () => {
    const st = initAndSend(TypeUrl.Endpoint, ['a'], eds);
    const o = onSotwRequest(st, req(TypeUrl.Endpoint, { nonce: 'old', names: ['a', 'b'] }));
    expect(o.kind).toBe('stale');
    expect(o.respond).toBe(false);
    expect([...o.state.names].sort()).toEqual(['a', 'b']);
    // The next in-order ACK answers with the grown set.
    const ack = onSotwRequest(o.state, req(TypeUrl.Endpoint, { nonce: 'n1', names: ['a', 'b'] }));
    expect(ack.respond).toBe(true);
    expect(pendingResponse(ack.state, eds, ack.namesAdded)?.map((r) => r.name)).toEqual(['a', 'b']);
  });

  it('names added on an ACK are sent even though unchanged; names removed need nothing', () => {
    const st = initAndSend(TypeUrl.Endpoint, ['a'], eds);
    const grow = onSotwRequest(st, req(TypeUrl.Endpoint, { nonce: 'n1', names: ['a', 'b'] }));
    expect(grow.respond).toBe(true);
    const shrink = onSotwRequest(st, req(TypeUrl.Endpoint, { nonce: 'n1', names: [] }));
    expect(shrink.kind).toBe('unsubscribe');
    expect(shrink.respond).toBe(false);
    expect(pendingResponse(shrink.state, eds, false)).toBeUndefined();
  });

  it('after naming resources, an empty list means none, not wildcard', () => {
    const st = initAndSend(TypeUrl.Cluster, ['a'], cds);
    expect(st.wildcard).toBe(false);
    const o = onSotwRequest(st, req(TypeUrl.Cluster, { nonce: 'n1', names: [] }));
    expect(o.state.wildcard).toBe(false);
    expect(o.kind).toBe('unsubscribe');
  });

  it("explicit '*' is wildcard and coexists with names", () => {
    const o = onSotwRequest(undefined, req(TypeUrl.Listener, { names: ['*', 'x'] }));
    expect(o.state.wildcard).toBe(true);
    expect([...o.state.names]).toEqual(['x']);
  });

  it('a removal on a wildcard type needs a response; on EDS omission is not deletion', () => {
    const c = initAndSend(TypeUrl.Cluster, [], cds);
    expect(pendingResponse(c, snap(TypeUrl.Cluster, [['a', '1']], 'c2'), false)?.map((r) => r.name)).toEqual(['a']);
    const e = initAndSend(TypeUrl.Endpoint, ['a', 'b'], eds);
    expect(pendingResponse(e, snap(TypeUrl.Endpoint, [['a', '1']], 'e2'), false)).toBeUndefined();
  });

  it('forceRespond (EDS after a CDS push) answers the next in-order request in full', () => {
    const st = { ...initAndSend(TypeUrl.Endpoint, ['a'], eds), forceRespond: true };
    const o = onSotwRequest(st, req(TypeUrl.Endpoint, { nonce: 'n1', names: ['a'] }));
    expect(o.respond).toBe(true);
    expect(pendingResponse(o.state, eds, o.namesAdded)?.map((r) => r.name)).toEqual(['a']);
  });

  it('a NACK of an older response names the version that response carried (as the session remembers it), and answers names it adds', () => {
    const st1 = initAndSend(TypeUrl.Endpoint, ['a'], eds); // n1 carries e1
    const e2 = snap(
      TypeUrl.Endpoint,
      [
        ['a', '2'],
        ['b', '1'],
      ],
      'e2',
    );
    const st2 = afterSend(st1, e2, 'n2');
    const o = onSotwRequest(st2, req(TypeUrl.Endpoint, { nonce: 'n1', names: ['a', 'b'], errorDetail: 'bad', sentVersion: 'e1' }));
    expect(o.state.lastNack?.version).toBe('e1');
    expect(o.state.forceRespond).toBe(true);
    const next = onSotwRequest(o.state, req(TypeUrl.Endpoint, { nonce: 'n2', names: ['a', 'b'] }));
    expect(next.respond).toBe(true);
  });

  it("leaving '*' while keeping the same explicit names ends the wildcard", () => {
    const o = onSotwRequest(undefined, req(TypeUrl.Cluster, { names: ['*', 'a'] }));
    const st = afterSend(o.state, cds, 'n1');
    const next = onSotwRequest(st, req(TypeUrl.Cluster, { nonce: 'n1', names: ['a'] }));
    expect(next.state.wildcard).toBe(false);
    expect([...next.state.names]).toEqual(['a']);
  });

  it('a name added on a stale request is sent by the next push even when that push changes something else', () => {
    // Envoy asks for a new cluster's CLA while responses are in flight; the push that follows must carry it.
    const s1 = snap(
      TypeUrl.Endpoint,
      [
        ['a', '1'],
        ['b', '1'],
      ],
      'e1',
    );
    const s2 = snap(
      TypeUrl.Endpoint,
      [
        ['a', '2'],
        ['b', '1'],
      ],
      'e2',
    );
    const s3 = snap(
      TypeUrl.Endpoint,
      [
        ['a', '3'],
        ['b', '1'],
      ],
      'e3',
    );
    const st1 = initAndSend(TypeUrl.Endpoint, ['a'], s1); // n1
    const st2 = afterSend(st1, s2, 'n2');
    const stale = onSotwRequest(st2, req(TypeUrl.Endpoint, { nonce: 'n1', names: ['a', 'b'] }));
    expect(stale.kind).toBe('stale');
    expect(pendingResponse(stale.state, s3, false)?.map((r) => r.name)).toEqual(['a', 'b']);
    // Once sent, the client holds both: the next unchanged push has nothing to send.
    const st3 = afterSend(stale.state, s3, 'n3');
    expect(pendingResponse(st3, s3, false)).toBeUndefined();
  });

  it('a name added on a NACK is sent by the next push', () => {
    const s1 = snap(
      TypeUrl.Endpoint,
      [
        ['a', '1'],
        ['b', '1'],
      ],
      'e1',
    );
    const s2 = snap(
      TypeUrl.Endpoint,
      [
        ['a', '2'],
        ['b', '1'],
      ],
      'e2',
    );
    const st1 = initAndSend(TypeUrl.Endpoint, ['a'], s1);
    const nack = onSotwRequest(st1, req(TypeUrl.Endpoint, { nonce: 'n1', names: ['a', 'b'], errorDetail: 'bad' }));
    expect(pendingResponse(nack.state, s2, false)?.map((r) => r.name)).toEqual(['a', 'b']);
  });

  it('CDS/LDS by name: every named resource in each response, and a removal is a response without it', () => {
    for (const t of [TypeUrl.Cluster, TypeUrl.Listener]) {
      const s1 = snap(
        t,
        [
          ['a', '1'],
          ['b', '1'],
          ['c', '1'],
        ],
        'x1',
      );
      const st = initAndSend(t, ['a', 'b'], s1);
      expect(st.wildcard).toBe(false);
      // b changed: a must travel too, or Envoy would delete it.
      expect(
        pendingResponse(
          st,
          snap(
            t,
            [
              ['a', '1'],
              ['b', '2'],
              ['c', '1'],
            ],
            'x2',
          ),
          false,
        )?.map((r) => r.name),
      ).toEqual(['a', 'b']);
      // b removed: a response with a alone deletes b.
      expect(
        pendingResponse(
          st,
          snap(
            t,
            [
              ['a', '1'],
              ['c', '1'],
            ],
            'x3',
          ),
          false,
        )?.map((r) => r.name),
      ).toEqual(['a']);
      // Only an unrequested resource changed: nothing to send.
      expect(
        pendingResponse(
          st,
          snap(
            t,
            [
              ['a', '1'],
              ['b', '1'],
              ['c', '2'],
            ],
            'x4',
          ),
          false,
        ),
      ).toBeUndefined();
    }
  });
});
