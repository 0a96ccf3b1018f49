import { expect } from 'vitest';
import type { CellResult } from '../../bench/chaos/session.js';

/** Prints a cell's figures (CI logs keep them) and asserts every criterion it was held to. */
export function expectCell(r: CellResult): void {
  const { requests } = r;
  console.log(
    `${r.cell}: ${requests.sent} requests, ${requests.deliberateDrops} deliberate drops, ${requests.failures} other failures; ` +
      `recovery ${r.recoveryMs ?? '—'} ms (${r.recoveryMeaning}); ${JSON.stringify(r.figures)}`,
  );
  expect(r.checks.filter((c) => !c.ok)).toEqual([]);
}
