// The README's picture of the live status page: Debian's Chromium (tools/browser) opens the page a
// running demo serves and saves what it shows.
import { launchChromium } from '../../tools/browser/chromium.js';

export async function screenshotStatusPage(url: string, path: string): Promise<string> {
  const chrome = await launchChromium();
  try {
    const page = await chrome.context.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
    // The demo's load lasts minutes: show the last two.
    await page.goto(`${url}?window=2m`);
    await page.locator('.service .reason').first().waitFor({ timeout: 10_000 });
    // A few frames, so the sync table and the chart's recent minutes are drawn.
    await page.waitForTimeout(2_500);
    await page.screenshot({ path, fullPage: true });
    return path;
  } finally {
    await chrome.close();
  }
}
