/**
 * Opens a page in headless Chromium (Debian's `chromium` package; CI installs it) through
 * playwright-core, recording what a person's browser would complain about: console errors, page
 * errors and any request that fails or leaves the machine.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface OpenedPage {
  readonly page: Page;
  /** Console errors, uncaught page errors, failed requests, and requests to anything but file:/data:. */
  readonly problems: string[];
  close(): Promise<void>;
}

export async function openInChromium(file: string): Promise<OpenedPage> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `headless Chromium not found at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`,
    );
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url().slice(0, 80)}`));
  page.on('request', (r) => {
    if (!/^(file|data):/.test(r.url())) problems.push(`network request: ${r.url()}`);
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, problems, close: () => browser.close() };
}
