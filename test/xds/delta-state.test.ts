import { describe, expect, it } from 'vitest';
import { afterDeltaSend, onDeltaRequest, pendingDelta, type DeltaRequest, type DeltaTypeState } from '../../src/xds/delta-state.js';
import type { EncodedResource, TypeSnapshot } from '../../src/xds/snapshot.js';
import { TypeUrl } from '../../src/xds/type-urls.js';

const res = (typeUrl: TypeUrl, name: string, version: string): EncodedResource => ({
  name,
  version,
  typeUrl,
  value: Buffer.from(`${name}@${version}`),
});
const snap = (typeUrl: TypeUrl, items: Array<[string, string]>, version = items.map(([n, v]) => `${n}${v}`).join('')): TypeSnapshot => ({
  version,
  resources: new Map(items.map(([n, v]) => [n, res(typeUrl, n, v)])),
});
const req = (typeUrl: TypeUrl, over: Partial<Omit<DeltaRequest, 'typeUrl'>> = {}): DeltaRequest => ({
  typeUrl,
  subscribe: over.subscribe ?? [],
  unsubscribe: over.unsubscribe ?? [],
  initialVersions: over.initialVersions ?? {},
  nonce: over.nonce ?? '',
  ...(over.errorDetail !== undefined ? { errorDetail: over.errorDetail } : {}),
});

/** What a flush would write now, as name@version, plus removals; and the state after writing it. */
function send(state: DeltaTypeState, s: TypeSnapshot): { sent: string[]; removed: string[]; state: DeltaTypeState } {
  const body = pendingDelta(state, s);
  if (!body) return { sent: [], removed: [], state };
  return { sent: body.resources.map((r) => `${r.name}@${r.version}`), removed: body.removed, state: afterDeltaSend(state, body) };
}

/** One request followed by the flush the server does after every request. */
function step(prev: DeltaTypeState | undefined, r: DeltaRequest, s: TypeSnapshot) {
  const outcome = onDeltaRequest(prev, r);
  return { kind: outcome.kind, ...send(outcome.state, s) };
}

const cds1 = snap(TypeUrl.Cluster, [
  ['a', '1'],
  ['b', '1'],
]);
const eds1 = snap(TypeUrl.Endpoint, [
  ['a', '1'],
  ['b', '1'],
]);

describe('delta xDS: wildcard', () => {
  it('legacy wildcard: the first CDS or LDS request with both lists empty gets every resource', () => {
    for (const t of [TypeUrl.Cluster, TypeUrl.Listener]) {
      const s = snap(t, [
        ['a', '1'],
        ['b', '1'],
      ]);
      const r = step(undefined, req(t), s);
      expect(r.kind).toBe('init');
      expect(r.state.wildcard).toBe(true);
      expect(r.sent).toEqual(['a@1', 'b@1']);
      expect(r.removed).toEqual([]);
    }
  });

  it('is not legacy wildcard on EDS or RDS: an empty first request subscribes to nothing', () => {
    for (const t of [TypeUrl.Endpoint, TypeUrl.Route]) {
      const r = step(undefined, req(t), snap(t, [['a', '1']]));
      expect(r.state.wildcard).toBe(false);
      expect(r.sent).toEqual([]);
    }
  });

  it('only the first request can be legacy wildcard: an empty later request (an ACK) keeps named mode', () => {
    const first = step(undefined, req(TypeUrl.Cluster, { subscribe: ['a'] }), cds1);
    expect(first.state.wildcard).toBe(false);
    expect(first.sent).toEqual(['a@1']);
    const ack = step(first.state, req(TypeUrl.Cluster, { nonce: 'n1' }), cds1);
    expect(ack.kind).toBe('ack');
    expect(ack.state.wildcard).toBe(false);
    // A new cluster is not sent to a client that never asked for it.
    expect(
      send(
        ack.state,
        snap(TypeUrl.Cluster, [
          ['a', '1'],
          ['b', '1'],
          ['c', '1'],
        ]),
      ).sent,
    ).toEqual([]);
  });

  it("explicit '*' subscribes to everything, on any type, alongside explicit names", () => {
    const r = step(undefined, req(TypeUrl.Endpoint, { subscribe: ['*', 'a'] }), eds1);
    expect(r.state.wildcard).toBe(true);
    expect([...r.state.names]).toEqual(['a']);
    expect(r.sent).toEqual(['a@1', 'b@1']);
  });

  it("unsubscribing '*' ends wildcard: new and removed resources outside the explicit names are no longer sent", () => {
    const init = step(undefined, req(TypeUrl.Cluster, { subscribe: ['*', 'a'] }), cds1);
    const unsub = step(init.state, req(TypeUrl.Cluster, { unsubscribe: ['*'] }), cds1);
    expect(unsub.kind).toBe('subscription');
    expect(unsub.state.wildcard).toBe(false);
    // A pure unsubscribe needs no response.
    expect(unsub.sent).toEqual([]);
    expect(unsub.removed).toEqual([]);
    // b changes, c appears, a changes: only a is still subscribed.
    const next = send(
      unsub.state,
      snap(TypeUrl.Cluster, [
        ['a', '2'],
        ['b', '2'],
        ['c', '1'],
      ]),
    );
    expect(next.sent).toEqual(['a@2']);
    // b disappears: not reported, the client is not subscribed to it.
    expect(send(next.state, snap(TypeUrl.Cluster, [['a', '2']])).removed).toEqual([]);
  });

  it("re-subscribing '*' after unsubscribing it is answered in full (the client dropped what only '*' covered)", () => {
    const init = step(undefined, req(TypeUrl.Cluster), cds1);
    const unsub = step(init.state, req(TypeUrl.Cluster, { unsubscribe: ['*'] }), cds1);
    const resub = step(unsub.state, req(TypeUrl.Cluster, { subscribe: ['*'] }), cds1);
    expect(resub.state.wildcard).toBe(true);
    expect(resub.sent).toEqual(['a@1', 'b@1']);
  });

  it("unsubscribing an explicit name that '*' still covers resends it; phantom unsubscribes are harmless", () => {
    const init = step(
      undefined,
      req(TypeUrl.Listener, { subscribe: ['*', 'a'] }),
      snap(TypeUrl.Listener, [
        ['a', '1'],
        ['b', '1'],
      ]),
    );
    const unsub = step(
      init.state,
      req(TypeUrl.Listener, { unsubscribe: ['a', 'never-subscribed'] }),
      snap(TypeUrl.Listener, [
        ['a', '1'],
        ['b', '1'],
      ]),
    );
    expect(unsub.state.wildcard).toBe(true);
    expect(unsub.state.names.has('a')).toBe(false);
    expect(unsub.sent).toEqual(['a@1']);
    expect(unsub.removed).toEqual([]);
  });

  it("unsubscribing an explicit name without '*' needs no response, and later changes to it are not sent", () => {
    const init = step(undefined, req(TypeUrl.Endpoint, { subscribe: ['a', 'b'] }), eds1);
    const unsub = step(init.state, req(TypeUrl.Endpoint, { unsubscribe: ['b'] }), eds1);
    expect(unsub.sent).toEqual([]);
    expect(
      send(
        unsub.state,
        snap(TypeUrl.Endpoint, [
          ['a', '1'],
          ['b', '2'],
        ]),
      ).sent,
    ).toEqual([]);
  });
});

describe('delta xDS: reconnect with initial_resource_versions', () => {
  it('wildcard type: sends only what the client lacks or has at another version; names gone are removed', () => {
    const now = snap(TypeUrl.Cluster, [
      ['a', '1'],
      ['b', '2'],
      ['c', '1'],
    ]);
    const r = step(undefined, req(TypeUrl.Cluster, { initialVersions: { a: '1', b: '1', gone: '7' } }), now);
    expect(r.kind).toBe('init');
    expect(r.state.wildcard).toBe(true);
    expect(r.sent).toEqual(['b@2', 'c@1']);
    expect(r.removed).toEqual(['gone']);
    // Afterwards the client is up to date: nothing more until something changes.
    expect(pendingDelta(r.state, now)).toBeUndefined();
  });

  it("explicit '*' on reconnect behaves the same", () => {
    const now = snap(TypeUrl.Listener, [['a', '1']]);
    const r = step(undefined, req(TypeUrl.Listener, { subscribe: ['*'], initialVersions: { a: '1', old: '1' } }), now);
    expect(r.sent).toEqual([]);
    expect(r.removed).toEqual(['old']);
  });

  it('EDS/RDS: changed resources are sent, names that no longer exist are never put in removed_resources', () => {
    for (const t of [TypeUrl.Endpoint, TypeUrl.Route]) {
      const now = snap(t, [
        ['a', '1'],
        ['b', '2'],
      ]);
      const r = step(undefined, req(t, { subscribe: ['a', 'b', 'gone'], initialVersions: { a: '1', b: '1', gone: '1' } }), now);
      expect(r.sent).toEqual(['b@2']);
      expect(r.removed).toEqual([]);
    }
  });

  it('initial versions only count on the first request of a stream', () => {
    const init = step(undefined, req(TypeUrl.Endpoint, { subscribe: ['a'] }), eds1);
    const later = onDeltaRequest(init.state, req(TypeUrl.Endpoint, { subscribe: ['b'], initialVersions: { b: '1' } }));
    expect(send(later.state, eds1).sent).toEqual(['b@1']);
  });
});

describe('delta xDS: subscriptions, removals, NACK and nonces', () => {
  it('a subscribe for a name the server believes the client has is still answered', () => {
    const init = step(undefined, req(TypeUrl.Endpoint, { subscribe: ['a'] }), eds1);
    expect(init.sent).toEqual(['a@1']);
    const again = step(init.state, req(TypeUrl.Endpoint, { subscribe: ['a'], nonce: 'n1' }), eds1);
    expect(again.kind).toBe('subscription');
    expect(again.sent).toEqual(['a@1']);
  });

  it('a subscribed EDS name that does not exist yet is sent when it appears, never reported removed meanwhile', () => {
    const init = step(undefined, req(TypeUrl.Endpoint, { subscribe: ['a', 'later'] }), eds1);
    expect(init.sent).toEqual(['a@1']);
    expect(init.removed).toEqual([]);
    expect(
      send(
        init.state,
        snap(TypeUrl.Endpoint, [
          ['a', '1'],
          ['later', '1'],
        ]),
      ).sent,
    ).toEqual(['later@1']);
  });

  it('removed_resources only for CDS/LDS; EDS/RDS disappear with their parents', () => {
    for (const t of [TypeUrl.Cluster, TypeUrl.Listener]) {
      const init = step(
        undefined,
        req(t),
        snap(t, [
          ['a', '1'],
          ['b', '1'],
        ]),
      );
      const after = send(init.state, snap(t, [['a', '1']]));
      expect(after.sent).toEqual([]);
      expect(after.removed).toEqual(['b']);
      // Told once.
      expect(pendingDelta(after.state, snap(t, [['a', '1']]))).toBeUndefined();
    }
    for (const t of [TypeUrl.Endpoint, TypeUrl.Route]) {
      // Named and explicit-'*' subscriptions alike.
      for (const subscribe of [['a', 'b'], ['*']]) {
        const init = step(
          undefined,
          req(t, { subscribe }),
          snap(t, [
            ['a', '1'],
            ['b', '1'],
          ]),
        );
        expect(init.sent).toEqual(['a@1', 'b@1']);
        expect(pendingDelta(init.state, snap(t, [['a', '1']]))).toBeUndefined();
        expect(pendingDelta(init.state, snap(t, []))).toBeUndefined();
      }
    }
  });

  it('a weight change sends only the changed resource', () => {
    const init = step(undefined, req(TypeUrl.Endpoint, { subscribe: ['a', 'b'] }), eds1);
    const ack = step(init.state, req(TypeUrl.Endpoint, { nonce: 'n1' }), eds1);
    expect(ack.kind).toBe('ack');
    expect(ack.sent).toEqual([]);
    expect(
      send(
        ack.state,
        snap(TypeUrl.Endpoint, [
          ['a', '1'],
          ['b', '2'],
        ]),
      ).sent,
    ).toEqual(['b@2']);
  });

  it('NACK: recorded, the rejected content is not resent, new content is', () => {
    const init = step(undefined, req(TypeUrl.Cluster), cds1);
    const bad = send(
      step(init.state, req(TypeUrl.Cluster, { nonce: 'n1' }), cds1).state,
      snap(TypeUrl.Cluster, [
        ['a', 'bad'],
        ['b', '1'],
      ]),
    );
    expect(bad.sent).toEqual(['a@bad']);
    const badSnap = snap(TypeUrl.Cluster, [
      ['a', 'bad'],
      ['b', '1'],
    ]);
    const nack = step(bad.state, req(TypeUrl.Cluster, { nonce: 'n2', errorDetail: 'cluster a: bad CA path' }), badSnap);
    expect(nack.kind).toBe('nack');
    expect(nack.state.lastNack).toEqual({ nonce: 'n2', detail: 'cluster a: bad CA path' });
    expect(nack.sent).toEqual([]);
    // Unrelated later requests do not bring it back either.
    expect(step(nack.state, req(TypeUrl.Cluster, { nonce: 'n2' }), badSnap).sent).toEqual([]);
    // The fix (back to a@1, or anything new) is sent; b is untouched.
    expect(send(nack.state, cds1).sent).toEqual(['a@1']);
    expect(
      send(
        nack.state,
        snap(TypeUrl.Cluster, [
          ['a', '3'],
          ['b', '1'],
        ]),
      ).sent,
    ).toEqual(['a@3']);
  });

  it('a NACK that also changes subscriptions still applies them', () => {
    const init = step(undefined, req(TypeUrl.Endpoint, { subscribe: ['a'] }), eds1);
    const nack = step(init.state, req(TypeUrl.Endpoint, { nonce: 'n1', errorDetail: 'x', subscribe: ['b'] }), eds1);
    expect(nack.kind).toBe('nack');
    expect(nack.sent).toEqual(['b@1']);
  });

  it('a stale nonce never drops a subscription change', () => {
    const init = step(undefined, req(TypeUrl.Endpoint, { subscribe: ['a'] }), eds1);
    const pushed = send(
      init.state,
      snap(TypeUrl.Endpoint, [
        ['a', '2'],
        ['b', '1'],
        ['c', '1'],
      ]),
    );
    expect(pushed.sent).toEqual(['a@2']);
    const s2 = snap(TypeUrl.Endpoint, [
      ['a', '2'],
      ['b', '1'],
      ['c', '1'],
    ]);
    // The client answers the first response (n1) after the server already sent n2, and subscribes b.
    const sub = step(pushed.state, req(TypeUrl.Endpoint, { nonce: 'n1', subscribe: ['b'] }), s2);
    expect(sub.sent).toEqual(['b@1']);
    // Same for an unsubscribe carried with a stale nonce.
    const unsub = step(sub.state, req(TypeUrl.Endpoint, { nonce: 'n1', unsubscribe: ['a'] }), s2);
    expect(unsub.state.names.has('a')).toBe(false);
    expect(
      send(
        unsub.state,
        snap(TypeUrl.Endpoint, [
          ['a', '3'],
          ['b', '1'],
          ['c', '1'],
        ]),
      ).sent,
    ).toEqual([]);
  });
});

describe('delta xDS: plain ACKs', () => {
  it('a plain ACK keeps the state as it is and has nothing new to send; a NACK or a subscription change still counts', () => {
    const init = step(undefined, req(TypeUrl.Endpoint, { subscribe: ['a', 'b'] }), eds1);
    expect(init.sent).toEqual(['a@1', 'b@1']);
    const ack = onDeltaRequest(init.state, req(TypeUrl.Endpoint, { nonce: 'n1' }));
    expect(ack.kind).toBe('ack');
    expect(ack.state).toBe(init.state);
    expect(pendingDelta(ack.state, eds1)).toBeUndefined();
    expect(onDeltaRequest(init.state, req(TypeUrl.Endpoint, { nonce: 'n1', errorDetail: 'bad' })).kind).toBe('nack');
    const sub = onDeltaRequest(init.state, req(TypeUrl.Endpoint, { nonce: 'n1', unsubscribe: ['b'] }));
    expect(sub.kind).toBe('subscription');
    expect([...sub.state.names]).toEqual(['a']);
  });
});
