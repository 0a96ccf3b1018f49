// The layer order stated in README.md ("Layout"), checked against the code's own imports: a folder of
// src/ may import its own files and folders on lower layers, never a sibling or anything above.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/repo.js';

const SRC = join(REPO_ROOT, 'src');

/** The layers, bottom first, as README.md states them between its layer markers. */
function statedLayers(): string[][] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const block = /<!-- layers:begin -->([\s\S]*?)<!-- layers:end -->/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no <!-- layers:begin --> … <!-- layers:end --> block');
  return block
    .split('\n')
    .map((l) => /^\s*\d+\.\s+(.+)$/.exec(l)?.[1])
    .filter((l): l is string => l !== undefined)
    .map((l) => [...l.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.replace(/\/$/, '')));
}

function tsFiles(dir: string): string[] {
  if (!statSync(dir, { throwIfNoEntry: false })) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'generated' ? [] : tsFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** The folder of src/ a file belongs to ('cli.ts' at the top belongs to cli). */
function unitOf(file: string): string {
  const rel = relative(SRC, file);
  const first = rel.split('/')[0]!;
  return first.endsWith('.ts') ? first.replace(/\.ts$/, '') : first;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => resolve(dirname(file), m[1]!));
}

describe('layers', () => {
  const layers = statedLayers();
  const levelOf = new Map(layers.flatMap((units, i) => units.map((u) => [u, i] as const)));

  it('README states every folder of src/ once', () => {
    const units = [...new Set(tsFiles(SRC).map(unitOf))].sort();
    expect(units.filter((u) => !levelOf.has(u))).toEqual([]);
    expect(layers.flat().length).toBe(levelOf.size);
  });

  it('no import runs sideways or up a layer', () => {
    const wrong: string[] = [];
    for (const file of tsFiles(SRC)) {
      const from = unitOf(file);
      for (const target of importsOf(file)) {
        if (!target.startsWith(SRC)) {
          wrong.push(`${relative(REPO_ROOT, file)} imports ${relative(REPO_ROOT, target)} (outside src/)`);
          continue;
        }
        const to = unitOf(target);
        if (to === from) continue;
        const a = levelOf.get(from);
        const b = levelOf.get(to);
        if (a === undefined || b === undefined || b >= a) wrong.push(`${relative(REPO_ROOT, file)} (${from}) imports ${to}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('what runs beside Spillway (tools/, bench/, scripts/) never depends on the tests', () => {
    const wrong = ['tools', 'bench', 'scripts'].flatMap((top) =>
      tsFiles(join(REPO_ROOT, top)).flatMap((file) =>
        importsOf(file)
          .filter((target) => target.startsWith(join(REPO_ROOT, 'test') + '/'))
          .map((target) => `${relative(REPO_ROOT, file)} imports ${relative(REPO_ROOT, target)}`),
      ),
    );
    expect(wrong).toEqual([]);
  });
});
