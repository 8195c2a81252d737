/**
 * Debian's chromium, headless, driven by playwright-core (never a downloaded browser): opens a
 * report file in a fresh profile and reports what a reader would see. Shared by the report and
 * demo tests.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing: CI must apt-get install chromium`);
  console.warn(`[volfit tests] skipping browser tests: ${CHROMIUM} missing (apt-get install -y --no-install-recommends chromium)`);
}

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface PageCheck {
  consoleErrors: string[];
  foreignRequests: string[];
  svgs: Array<{ width: number; height: number; section: string }>;
  sections: string[];
}

/** Opens `file` in a fresh headless chromium profile and reports what a reader would see. */
export async function inspectPage(file: string, screenshot?: string): Promise<PageCheck> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'volfit-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1320, height: 900 },
  });
  try {
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    const foreignRequests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    const url = pathToFileURL(file).href;
    page.on('request', (r) => {
      if (r.url() !== url) foreignRequests.push(r.url());
    });
    await page.goto(url, { waitUntil: 'load' });
    const svgs = await page.$$eval('section svg', (els) =>
      els
        // Only chart roots (Plot nests no svg, legends' swatch svgs are tiny and excluded by size below).
        .map((el) => {
          const r = el.getBoundingClientRect();
          return { width: r.width, height: r.height, section: el.closest('section')?.id ?? '' };
        }),
    );
    const sections = await page.$$eval('section', (els) => els.map((e) => e.id));
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    return { consoleErrors, foreignRequests, svgs, sections };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

