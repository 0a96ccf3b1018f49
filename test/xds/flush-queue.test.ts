import { describe, expect, it } from 'vitest';
import { FlushQueue } from '../../src/xds/flush-queue.js';

/** A queue whose turns are run by the test, one at a time. */
function harness(perTurn: number) {
  const flushed: string[] = [];
  const turns: Array<() => void> = [];
  const q = new FlushQueue<string>(
    (s) => flushed.push(s),
    perTurn,
    (fn) => turns.push(fn),
  );
  const runTurn = (): void => turns.shift()?.();
  return { q, flushed, turns, runTurn };
}

describe('FlushQueue', () => {
  it('flushes up to perTurn items at once and the rest in later turns, in order', () => {
    const h = harness(2);
    for (const s of ['a', 'b', 'c', 'd', 'e']) h.q.add(s);
    expect(h.flushed).toEqual(['a', 'b']);
    expect(h.q.waiting).toBe(3);
    h.runTurn();
    expect(h.flushed).toEqual(['a', 'b', 'c', 'd']);
    h.runTurn();
    expect(h.flushed).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(h.q.waiting).toBe(0);
  });

  it('queues an item once however often it is woken before its turn', () => {
    const h = harness(1);
    h.q.add('a');
    h.q.add('b');
    h.q.add('b');
    h.q.add('c');
    h.runTurn();
    h.runTurn();
    h.runTurn();
    expect(h.flushed).toEqual(['a', 'b', 'c']);
  });

  it('never lets a new item jump the queue while others wait', () => {
    const h = harness(2);
    h.q.add('a');
    h.q.add('b');
    h.q.add('c');
    h.runTurn(); // c
    h.q.add('d'); // one slot left this turn, nothing waiting: now
    h.q.add('e'); // turn full: queued
    expect(h.flushed).toEqual(['a', 'b', 'c', 'd']);
    h.runTurn();
    expect(h.flushed).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('forgets a deleted item (a stream that closed while queued)', () => {
    const h = harness(1);
    h.q.add('a');
    h.q.add('b');
    h.q.delete('b');
    h.runTurn();
    expect(h.flushed).toEqual(['a']);
  });

  it('gives every turn a fresh budget once the previous one has passed', () => {
    const h = harness(1);
    h.q.add('a');
    h.runTurn();
    h.q.add('b');
    expect(h.flushed).toEqual(['a', 'b']);
  });

  it('an item whose flush throws does not strand the items queued behind it', () => {
    const flushed: string[] = [];
    const turns: Array<() => void> = [];
    const q = new FlushQueue<string>(
      (s) => {
        if (s === 'b') throw new Error('boom');
        flushed.push(s);
      },
      1,
      (fn) => turns.push(fn),
    );
    for (const s of ['a', 'b', 'c']) q.add(s);
    expect(() => turns.shift()?.()).toThrow('boom');
    turns.shift()?.();
    expect(flushed).toEqual(['a', 'c']);
  });

  it('rejects a batch size below 1', () => {
    expect(() => new FlushQueue(() => {}, 0)).toThrow(/perTurn must be ≥ 1, got 0/);
  });
});
