import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse-config.js';
import { REPO_ROOT } from '../../tools/repo.js';

describe('README', () => {
  it('documents a configuration that Spillway accepts as written', () => {
    const md = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const section = md.indexOf('## Configuration');
    const start = md.indexOf('```yaml', section) + '```yaml'.length;
    const block = md.slice(start, md.indexOf('```', start));
    const r = parseConfigText(block, 'README.md', { SPILLWAY_ADMIN_TOKEN: 'token-for-the-test' });
    expect(r.ok ? [] : r.errors).toEqual([]);
  });

  it('documents a secured configuration that Spillway accepts as written', () => {
    const md = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const section = md.indexOf('## Securing Spillway');
    const start = md.indexOf('```yaml', section) + '```yaml'.length;
    const block = md.slice(start, md.indexOf('```', start));
    const r = parseConfigText(
      `${block}\nservices: [{ name: echo, listener: 127.0.0.1:10000, in_house: { endpoints: [{ address: 10.0.0.1, port: 80, capacity: 1 }] } }]`,
      'README.md',
      {
        SPILLWAY_ADMIN_TOKEN: 'admin-token-for-the-test',
        SPILLWAY_ADMIN_READ_TOKEN: 'read-token-for-the-test',
      },
    );
    expect(r.ok ? [] : r.errors).toEqual([]);
    if (!r.ok) return;
    expect(r.config.xds.tls?.requireClientCert).toBe(true);
    expect(r.config.xds.nodeIdentity).toEqual({ san: 'uri', template: 'spiffe://example.org/envoy/{node_id}' });
    expect(r.config.admin.readTokenName).toBe('SPILLWAY_ADMIN_READ_TOKEN');
  });

  it('shows the two set-up commands', () => {
    const md = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    expect(md).toContain('npm ci && npm run demo');
    expect(md).toContain('npm test');
  });
});
