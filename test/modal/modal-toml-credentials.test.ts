// Credentials from a ~/.modal.toml profile, as Modal's CLI writes it. Its own file: the SDK reads the
// TOML once, when it is first imported, so this worker must point MODAL_CONFIG_PATH at it beforehand.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectModalSdk } from '../../src/modal/modal-sdk.js';
import { startFakeModal, type FakeModal } from '../../tools/fake-modal/start-fake-modal.js';

const credentials = { tokenId: 'ak-FromTomlProfileId', tokenSecret: 'as-FromTomlProfileSecret' };
let fake: FakeModal;
let dir: string;

beforeAll(async () => {
  fake = await startFakeModal({ credentials, functions: [{ appName: 'shop-app', functionName: 'web' }] });
  dir = mkdtempSync(join(tmpdir(), 'spillway-modal-toml-'));
  // Two profiles: the active one is used; the server URL comes from the profile too.
  writeFileSync(
    join(dir, 'modal.toml'),
    [
      '[other]',
      'token_id = "ak-wrong"',
      'token_secret = "as-wrong"',
      '',
      '[spillway]',
      `token_id = "${credentials.tokenId}"`,
      `token_secret = "${credentials.tokenSecret}"`,
      `server_url = "${fake.controlUrl}"`,
      'active = true',
      '',
    ].join('\n'),
  );
  for (const k of ['MODAL_PROFILE', 'MODAL_ENVIRONMENT', 'MODAL_TOKEN_ID', 'MODAL_TOKEN_SECRET', 'MODAL_SERVER_URL']) delete process.env[k];
  process.env['MODAL_CONFIG_PATH'] = join(dir, 'modal.toml');
});

afterAll(async () => {
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('takes token and server URL from the active ~/.modal.toml profile', async () => {
  const api = await connectModalSdk();
  const handle = await api.lookup({ service: 'shop', appName: 'shop-app', functionName: 'web' });
  const stats = await handle.currentStats(new AbortController().signal);
  api.close();
  expect(handle.functionId).toBe('fu-fake1');
  expect(stats.numTotalRunners).toBe(0);
});
