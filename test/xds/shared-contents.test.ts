import { describe, expect, it } from 'vitest';
import { internMap, internSet, mapAfter } from '../../src/xds/shared-contents.js';

describe('shared delta contents (shared-contents.ts)', () => {
  it('streams holding the same names or versions share one copy', () => {
    expect(internSet(new Set(['b', 'a']))).toBe(internSet(new Set(['a', 'b'])));
    const held = internMap(new Map([['a', '1']]));
    expect(internMap(new Map([['a', '1']]))).toBe(held);
    const next = mapAfter(held, [{ name: 'b', version: '2' }], []);
    expect(mapAfter(held, [{ name: 'b', version: '2' }], [])).toBe(next);
    expect([...next].sort()).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
    // The start is untouched: it is shared too.
    expect([...held]).toEqual([['a', '1']]);
  });

  it("a client's names cannot make its contents look like another's (any character may be in a name)", () => {
    // Hostile first: a name with the characters a naive key would join on.
    const hostile = internSet(new Set(['a\nb']));
    expect([...internSet(new Set(['a', 'b']))].sort()).toEqual(['a', 'b']);
    expect([...hostile]).toEqual(['a\nb']);
    const m1 = internMap(new Map([['x\u00001', '2']]));
    const m2 = internMap(new Map([['x', '1\u00002']]));
    expect(m1).not.toBe(m2);
    // From one start, setting '-x' and removing 'x\u00001' are different steps.
    const start = internMap(new Map([['x\u00001', 'v']]));
    const setDash = mapAfter(start, [{ name: '-x', version: '1' }], []);
    const removed = mapAfter(start, [], ['x\u00001']);
    expect(removed).not.toBe(setDash);
    expect([...removed]).toEqual([]);
    expect(setDash.get('-x')).toBe('1');
  });
});
