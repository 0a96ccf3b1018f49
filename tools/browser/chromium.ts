// Debian's Chromium (apt-get install chromium) driven by playwright-core: the status page's browser
// test and the README screenshot. Playwright's own browser download is never used.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_BIN = process.env['CHROMIUM_BIN'] ?? '/usr/bin/chromium';

export interface ChromiumHandle {
  /** A persistent context on the fresh profile (Playwright takes the profile directory this way). */
  context: BrowserContext;
  close(): Promise<void>;
}

/** A headless Chromium with a fresh profile (--user-data-dir), nothing fetched from the network on its own. */
export async function launchChromium(): Promise<ChromiumHandle> {
  const profile = mkdtempSync(join(tmpdir(), 'spillway-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_BIN,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
