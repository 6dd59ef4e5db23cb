/**
 * Real headless Chromium for the end-to-end tests: Debian's chromium driven by playwright-core
 * (Playwright's own browser download needs network access our CI machines do not have). Screenshots
 * of every open page are kept when a test fails, and the tutorial's screenshots are taken along
 * the way.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { onTestFailed } from 'vitest';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/**
 * Browser tests skip on a developer's machine without Chromium; in CI (`CI` set, as .ci/run
 * does) a missing Chromium is a failure, never a row of skips.
 */
export const hasChromium = existsSync(CHROMIUM_PATH);
if (!hasChromium && process.env.CI) {
  throw new Error(`CI needs Chromium for the browser tests and there is none at ${CHROMIUM_PATH} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
}
export const SKIP_REASON = `skipped: no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium, or set CHROMIUM_PATH)`;

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** Test artifacts: screenshots of failures, and of the journey on every run. */
export const SCREENSHOT_DIR = path.join(REPO, 'test-results/screenshots');
/** The tutorial's pictures, rewritten only when asked (BEDSIDE_UPDATE_DOCS_IMAGES=1). */
export const DOCS_IMAGES = path.join(REPO, 'docs/images');
const updateDocs = process.env.BEDSIDE_UPDATE_DOCS_IMAGES === '1';

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A fresh browser profile (cookies, storage) for one test, with failure screenshots. */
export async function freshContext(browser: Browser, testName: string): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US', timezoneId: 'UTC' });
  context.setDefaultTimeout(10_000);
  onTestFailed(async () => {
    const dir = path.join(SCREENSHOT_DIR, 'failures');
    mkdirSync(dir, { recursive: true });
    const slug = testName.replace(/[^\w]+/g, '-').slice(0, 60);
    await Promise.all(context.pages().map((page, i) => page.screenshot({ path: path.join(dir, `${slug}-${i}.png`), fullPage: true }).catch(() => undefined)));
  });
  return context;
}

/** Every screenshot written during this run, for the closing report. */
export const written: string[] = [];

/** Keeps a picture of the journey (test-results/screenshots/journey/, and docs/images/ on request). */
export async function journeyShot(target: Page | Locator, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  const dirs = [path.join(SCREENSHOT_DIR, 'journey'), ...(updateDocs ? [DOCS_IMAGES] : [])];
  for (const dir of dirs) {
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${name}.png`);
    if ('goto' in target) await target.screenshot({ path: file, fullPage: options.fullPage ?? false });
    else await target.screenshot({ path: file });
    written.push(path.relative(REPO, file));
  }
}
