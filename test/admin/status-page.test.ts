// The live status page in a real headless Chromium: it loads with no console errors, shows each
// service and the Envoy that is attached, and its chart and reason follow a share change live.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminAuth } from '../../src/admin/auth.js';
import { StatusPage } from '../../src/admin/status-page/status-page.js';
import { realScheduler } from '../../src/core/scheduler.js';
import type { ServiceState__Output } from '../../src/generated/spillway/admin/v1/ServiceState.js';
import { CHROMIUM_BIN, launchChromium, type ChromiumHandle } from '../../tools/browser/chromium.js';
import { startEnvoy, type EnvoyHandle } from '../../tools/envoy/envoy-process.js';
import { waitFor } from '../../tools/wait-for.js';
import { freePort } from '../../tools/ports.js';
import { bearer, rawConfig, startAdminRig, unary, type AdminRig } from './harness.js';

const TOKEN = 'page-test-token-7c2a';

// Debian's Chromium: .ci/run installs it (scripts/setup-test-tools.sh); elsewhere the test says it skips.
const haveChromium = existsSync(CHROMIUM_BIN);
if (!haveChromium && process.env['CI']) throw new Error(`${CHROMIUM_BIN} is missing: .ci/run installs Debian's chromium package`);
if (!haveChromium) console.log(`status page browser test: skipped, ${CHROMIUM_BIN} is not installed (apt-get install chromium)`);

describe.skipIf(!haveChromium)('status page (headless Chromium)', () => {
  let rig: AdminRig;
  let envoy: EnvoyHandle;
  let chrome: ChromiumHandle;
  let base: string;

  beforeAll(async () => {
    const raw = rawConfig({ admin: { listen: '127.0.0.1:0', token_env: 'SPILLWAY_TEST_ADMIN_TOKEN' } });
    for (const s of raw['services'] as Array<{ listener: string }>) s.listener = `127.0.0.1:${await freePort()}`;
    rig = await startAdminRig({ raw, env: { SPILLWAY_TEST_ADMIN_TOKEN: TOKEN } });
    base = `http://127.0.0.1:${rig.app.metricsPort}`;
    envoy = await startEnvoy({ xdsPort: rig.app.xdsPort, nodeId: 'page-envoy-1' });
    chrome = await launchChromium();
  });
  afterAll(async () => {
    await chrome?.close();
    await envoy?.stop();
    await rig?.close();
  });

  /** Opens a page and collects everything the browser reports as an error. */
  const open = async (url: string): Promise<{ page: Page; errors: string[] }> => {
    const page = await chrome.context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('requestfailed', (r) => {
      // The event stream is cut when the page closes; anything else failing is a defect.
      if (!r.url().endsWith('/status/events')) errors.push(`request failed: ${r.url()}`);
    });
    await page.goto(url);
    return { page, errors };
  };

  it('shows each service and the attached Envoy, and follows a share change in the chart and the reason', async () => {
    const { page, errors } = await open(`${base}/status`);
    const echo = page.locator('[data-service="echo"]');
    await echo.locator('.reason').filter({ hasText: 'static share from the configuration' }).waitFor({ timeout: 10_000 });
    const chart = echo.locator('svg.split');
    expect(await chart.getAttribute('data-modal')).toBe('0.200');
    await expect.poll(() => page.locator('#conn').textContent(), { timeout: 5_000 }).toBe('live');
    expect(await page.locator('[data-service="plain"] .legend').textContent()).toContain('Modal 0.0%');

    // The Envoy row: all four types synced, on this replica.
    const row = page.locator('tr[data-node="page-envoy-1"]');
    await expect
      .poll(async () => (await row.locator('td[data-type]').allTextContents()).map((t) => t.split(' ')[0]), { timeout: 20_000 })
      .toEqual(['SYNCED', 'SYNCED', 'SYNCED', 'SYNCED']);
    expect(await row.textContent()).toContain(rig.app.read.replicaId());

    const modalBand = chart.locator('path.band-modal');
    const before = await modalBand.getAttribute('d');
    const r = await unary<object, ServiceState__Output>(
      rig.admin.Override.bind(rig.admin),
      { service: 'echo', share: 0.6, duration: { seconds: 600 }, reason: 'browser test' },
      bearer(TOKEN),
    );
    expect(r.err).toBeUndefined();

    await echo.locator('.reason').filter({ hasText: 'operator override to 60.0% Modal' }).waitFor({ timeout: 5_000 });
    await expect.poll(() => chart.getAttribute('data-modal'), { timeout: 5_000 }).toBe('0.600');
    expect(await echo.locator('.badge.mode').textContent()).toBe('override');
    expect(await echo.locator('.override-note').textContent()).toMatch(/^Override: Modal 60\.0%, 10 min left \(browser test\)/);
    expect(await echo.locator('.legend').textContent()).toContain('Modal 60.0%');
    // The chart's Modal band now starts at 40 % (in-house below it) at its right edge: its lowest
    // point on the 170 px tall plot (18 px of time axis) sits at 60 % of the height from the top.
    const after = await modalBand.getAttribute('d');
    expect(after).not.toBe(before);
    const bottom = await modalBand.evaluate((path) => {
      const box = (path as unknown as { getBBox(): { y: number; height: number } }).getBBox();
      return box.y + box.height;
    });
    expect(bottom).toBeCloseTo((1 - 0.4) * (170 - 18), 0);
    expect(errors).toEqual([]);

    await unary(rig.admin.ClearOverride.bind(rig.admin), { service: 'echo' }, bearer(TOKEN));
    await expect.poll(() => chart.getAttribute('data-modal'), { timeout: 5_000 }).toBe('0.200');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('asks for a bearer token when reads need one, and goes live with it', async () => {
    // Reads need a token once Spillway is given one: the page's data paths go through that check.
    const page = new StatusPage({
      read: rig.app.read,
      feed: rig.app.admin!.feed,
      auth: new AdminAuth({ token: TOKEN, readToken: 'reader-1' }),
      scheduler: realScheduler,
    });
    const server: Server = createServer((req, res) => {
      if (!page.handle(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect((await fetch(`${url}/status/frame.json`)).status).toBe(401);
      expect((await fetch(`${url}/status/frame.json`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      const ok = await fetch(`${url}/status/frame.json`, { headers: { authorization: 'Bearer reader-1' } });
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { services: unknown[] }).services).toHaveLength(2);

      const { page: tab, errors } = await open(`${url}/status`);
      await tab.locator('#login.shown').waitFor({ timeout: 5_000 });
      await tab.fill('#token', 'reader-1');
      await tab.click('#login-form button');
      await tab.locator('[data-service="echo"] .reason').waitFor({ timeout: 5_000 });
      await expect.poll(() => tab.locator('#conn').textContent(), { timeout: 5_000 }).toBe('live');
      // The 401 before the token is the browser's own console line; nothing else went wrong.
      expect(errors.filter((e) => !/401 \(Unauthorized\)/.test(e))).toEqual([]);
      await tab.close();
      await waitFor(() => page.viewers === 0, 5_000, 'the closed tab leaves the event stream');
    } finally {
      page.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
