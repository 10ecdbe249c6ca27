// A real headless Chromium for the UI tests: Debian's `chromium` (installed by .ci/run), driven by
// playwright-core. Never a downloaded browser: the machines have no route to the browser CDNs.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { REPO } from '../e2e/harness.ts';
import { GENEROUS_MS } from './bounds.ts';

/** Debian's Chromium, or `CHROMIUM_PATH`. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where UI tests leave their screenshots (gitignored; CI keeps them as artifacts). */
export const SCREENSHOT_DIR = path.join(REPO, 'test-results', 'ui');

/**
 * The flags this machine class needs: no sandbox (tests run as root), no GPU, and none of Chromium's own
 * background connections, which the closed network refuses by the dozen.
 */
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

/** A launched browser with one page; `close` ends the browser process (Playwright removes its temp profile). */
export interface TestBrowser {
  readonly browser: Browser;
  readonly context: BrowserContext;
  readonly page: Page;
  /** Saves a full-page screenshot as `<SCREENSHOT_DIR>/<name>.png` and returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Launches headless Chromium with a fresh profile (a temp dir Playwright makes) and a 1400×900 page whose waits are bounded by GENEROUS_MS
 * (they end on the awaited event; the bound is only reached when it never comes). Page errors fail loudly:
 * they are collected and `close` reports none was swallowed.
 */
export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: install Debian's chromium (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`);
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: FLAGS, timeout: GENEROUS_MS });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  context.setDefaultTimeout(GENEROUS_MS);
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  return {
    browser,
    context,
    page,
    async screenshot(name) {
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      const file = path.join(SCREENSHOT_DIR, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await browser.close();
      if (pageErrors.length > 0) throw new Error(`the page threw: ${pageErrors.join('; ')}`);
    },
  };
}
