import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse-config.js';
import { REPO_ROOT } from '../support/repo.js';

describe('README', () => {
  it('documents a configuration that Spillway accepts as written', () => {
    const md = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const section = md.indexOf('## Configuration');
    const start = md.indexOf('```yaml', section) + '```yaml'.length;
    const block = md.slice(start, md.indexOf('```', start));
    const r = parseConfigText(block, 'README.md', { SPILLWAY_ADMIN_TOKEN: 'token-for-the-test' });
    expect(r.ok ? [] : r.errors).toEqual([]);
  });

  it('shows the two set-up commands', () => {
    const md = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    expect(md).toContain('npm ci && npm run demo');
    expect(md).toContain('npm test');
  });
});
