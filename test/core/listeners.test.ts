import { describe, expect, it } from 'vitest';
import { Listeners } from '../../src/core/listeners.js';

describe('Listeners', () => {
  it('calls every listener even when one throws, reports the error, and removes on request', () => {
    const errors: unknown[] = [];
    const l = new Listeners<[string, number]>((e) => errors.push(e));
    const seen: string[] = [];
    l.add(() => {
      throw new Error('reader bug');
    });
    const off = l.add((s, n) => seen.push(`${s}${n}`));
    l.emit('a', 1);
    expect(seen).toEqual(['a1']);
    expect(errors.map((e) => (e as Error).message)).toEqual(['reader bug']);
    off();
    l.emit('b', 2);
    expect(seen).toEqual(['a1']);
    expect(l.size).toBe(1);
    l.clear();
    expect(l.size).toBe(0);
  });
});
