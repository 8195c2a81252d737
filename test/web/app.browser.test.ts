/**
 * The browser app (web/), built with Vite into a temporary folder, served by `volfit serve`'s own
 * server on a loopback port and driven in Debian's headless chromium (playwright-core, never a
 * downloaded browser). Each tier fits Heston on the bundled BTC snapshot and must equal the CLI
 * (`volfit normalize` then `volfit calibrate --json` with the same start, run here as child
 * processes): the f64 CPU tier to 1e-8, the f32 tiers (WebGPU on SwiftShader, WebGL2) to the f32
 * floor (see F32_FLOOR). Every page: no console error, no uncaught error or rejection, no request
 * to another origin. Screenshots go to test-output/web/. Also: bad and empty files, downloads,
 * cancel, the share link, offline use, and `volfit serve`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_FLAGS, hasChromium } from '../report/chromium.js';
import { requireWebGpu } from '../helpers/gpu.js';
import { createAppServer, listen } from '../../src/webapp/serve.js';
import { parseCanonicalCsv } from '../../src/market/canonical.js';
import { demoStarts } from '../../src/demo/start.js';
import type { CalibrationResult } from '../../src/calibrator/result.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const SNAPSHOT = join(root, 'data/deribit-btc-eth-snapshot-2026-01-05/deribit_options_snapshot_20260105T153329Z.csv');
const OUT = join(root, 'test-output/web');
const work = mkdtempSync(join(tmpdir(), 'volfit-web-'));
const appDir = join(work, 'app');
let server: Server;
let url = '';
const cli: Partial<Record<'cpu' | 'webgpu', CalibrationResult>> = {};
let quotesCsv = '';

/**
 * f32 floor: an f32 pricer moves the LM optimum within the noise of its prices. On this snapshot
 * the CLI's WebGPU fit and its f64 fit differ by 0.02 standard errors in kappa and 5e-4 in RMSE
 * (relative); parameters within 0.05 of their standard error and RMSE within 1e-3 are "equal".
 */
const F32_FLOOR = { stderrFraction: 0.05, rmseRelative: 1e-3 };

function volfit(args: string[]): string {
  return execFileSync(process.execPath, [join(root, 'bin/volfit.js'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
}

beforeAll(async () => {
  if (!hasChromium) return;
  const { build } = await import('vite');
  await build({ configFile: join(root, 'web/vite.config.ts'), logLevel: 'silent', build: { outDir: appDir, emptyOutDir: true } });
  server = createAppServer(appDir);
  url = await listen(server, 0, '127.0.0.1');
  mkdirSync(OUT, { recursive: true });
  // The CLI on the same data with the same start as the page: normalize, then calibrate.
  const q = join(work, 'quotes.csv');
  volfit(['normalize', '--input', SNAPSHOT, '--underlying', 'BTC', '--out', q]);
  quotesCsv = readFileSync(q, 'utf8');
  const start = demoStarts(parseCanonicalCsv(quotesCsv).quotes).heston!;
  const s = Object.entries(start).map(([k, v]) => `${k}=${v}`).join(',');
  for (const backend of ['cpu', 'webgpu'] as const) {
    try {
      cli[backend] = JSON.parse(volfit(['calibrate', '--input', q, '--model', 'heston', '--backend', backend, '--start', s, '--json']));
    } catch (e) {
      if (backend === 'cpu' || requireWebGpu) throw e;
      console.warn(`[volfit tests] CLI --backend webgpu unavailable: ${(e as Error).message.split('\n')[0]}`);
    }
  }
}, 900_000);

afterAll(() => {
  server?.close();
  rmSync(work, { recursive: true, force: true });
});

const TIER_FLAGS = {
  webgpu: ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan'],
  // No --enable-unsafe-webgpu: no WebGPU adapter; WebGL2 on SwiftShader through ANGLE.
  webgl2: ['--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  // No GPU, no software rasteriser, no 3D APIs: neither WebGPU nor WebGL.
  cpu: ['--disable-gpu', '--disable-software-rasterizer', '--disable-3d-apis'],
};

interface Watched {
  page: Page;
  problems: string[];
  close: () => Promise<void>;
}

/** A fresh chromium with the tier's flags; every console error, page error and foreign request is collected. */
async function open(tier: keyof typeof TIER_FLAGS, query: string): Promise<Watched> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'volfit-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS.filter((f) => f !== '--disable-gpu'), ...TIER_FLAGS[tier]],
    viewport: { width: 1280, height: 1000 },
  });
  const page = await context.newPage();
  const problems: string[] = [];
  const origin = new URL(url).origin;
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
  context.on('request', (r) => {
    const u = new URL(r.url());
    if (u.origin !== origin && u.protocol !== 'blob:' && u.protocol !== 'data:') problems.push(`request to another origin: ${r.url()}`);
  });
  await page.addInitScript(() => {
    window.addEventListener('unhandledrejection', (e) => console.error(`unhandled rejection: ${String(e.reason)}`));
  });
  await page.goto(`${url}${query}`);
  return {
    page,
    problems,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

async function runToResults(page: Page): Promise<{ results: CalibrationResult[]; loadToFitted: number }> {
  await page.waitForFunction(() => !(document.querySelector('[data-testid="run"]') as HTMLButtonElement).disabled, null, { timeout: 120_000 });
  await page.click('[data-testid="run"]');
  const el = await page.waitForSelector('[data-testid="result-json"]', { state: 'attached', timeout: 600_000 });
  return { results: JSON.parse((await el.textContent())!), loadToFitted: Number(await el.getAttribute('data-load-to-fitted')) };
}

function expectSameFit(page: CalibrationResult, ref: CalibrationResult, floor: { stderrFraction: number; rmseRelative: number } | 'f64'): void {
  expect(page.model).toBe(ref.model);
  expect(page.converged).toBe(true);
  expect(page.quotes.used).toBe(ref.quotes.used);
  expect(page.residuals.map((r) => r.row)).toEqual(ref.residuals.map((r) => r.row));
  // The same shape as `volfit calibrate --json`: every key, nothing more.
  expect(Object.keys(page).sort()).toEqual(Object.keys(ref).sort());
  for (const [k, v] of Object.entries(ref.params)) {
    const tol = floor === 'f64' ? 1e-8 * Math.max(1, Math.abs(v)) : floor.stderrFraction * (ref.stderr[k] ?? NaN);
    expect(Math.abs(page.params[k] - v), `${k}: page ${page.params[k]}, CLI ${v}`).toBeLessThanOrEqual(tol);
  }
  const rel = floor === 'f64' ? 1e-8 : floor.rmseRelative;
  expect(Math.abs(page.rmse_iv! / ref.rmse_iv! - 1)).toBeLessThanOrEqual(rel);
}

describe.skipIf(!hasChromium)('browser app (chromium, web/ built with Vite)', () => {
  it('WebGPU tier (SwiftShader): Heston on the bundled snapshot equals the CLI --backend webgpu to the f32 floor', async () => {
    const w = await open('webgpu', '?models=heston');
    try {
      await w.page.waitForFunction(() => !/detecting/.test(document.querySelector('[data-testid="tier"]')!.textContent!), null, { timeout: 120_000 });
      const tier = (await w.page.textContent('[data-testid="tier"]'))!;
      if (!tier.startsWith('webgpu') && !requireWebGpu) {
        console.warn(`[volfit tests] page has no WebGPU (tier: ${tier}); skipping the WebGPU tier check`);
        return;
      }
      expect(tier).toMatch(/^webgpu .+/);
      const { results, loadToFitted } = await runToResults(w.page);
      console.info(`[volfit tests] web webgpu: page load to fitted Heston ${loadToFitted} s`);
      expect(results).toHaveLength(1);
      expect(results[0].backend).toBe('webgpu');
      expectSameFit(results[0], cli.webgpu!, F32_FLOOR);
      expectSameFit(results[0], cli.cpu!, F32_FLOOR);
      await w.page.screenshot({ path: join(OUT, 'webgpu-heston.png'), fullPage: true });
      expect(w.problems).toEqual([]);
    } finally {
      await w.close();
    }
  }, 600_000);

  it('WebGPU off: the WebGL2 tier fits Heston equal to the CLI to the f32 floor', async () => {
    const w = await open('webgl2', '?models=heston');
    try {
      const { results, loadToFitted } = await runToResults(w.page);
      expect(await w.page.textContent('[data-testid="tier"]')).toMatch(/^webgl2 .+/);
      console.info(`[volfit tests] web webgl2: page load to fitted Heston ${loadToFitted} s`);
      expect(results[0].backend).toBe('webgl2');
      expectSameFit(results[0], cli.cpu!, F32_FLOOR);
      if (cli.webgpu) expectSameFit(results[0], cli.webgpu, F32_FLOOR);
      await w.page.screenshot({ path: join(OUT, 'webgl2-heston.png'), fullPage: true });
      expect(w.problems).toEqual([]);
    } finally {
      await w.close();
    }
  }, 600_000);

  it('WebGPU and WebGL off: the CPU tier (f64 in a worker) equals the CLI --backend cpu; Black rides along', async () => {
    const w = await open('cpu', '?models=black,heston');
    try {
      const { results, loadToFitted } = await runToResults(w.page);
      expect(await w.page.textContent('[data-testid="tier"]')).toMatch(/^cpu .+/);
      console.info(`[volfit tests] web cpu: page load to fitted Black + Heston ${loadToFitted} s`);
      expect(results.map((r) => r.model)).toEqual(['black', 'heston']);
      expect(results[1].backend).toBe('cpu');
      expectSameFit(results[1], cli.cpu!, 'f64');
      // Live parameters were drawn while it ran, and the final table shows the fit.
      expect(await w.page.textContent('[data-testid="params-heston"]')).toContain(results[1].params.kappa.toPrecision(6));
      // Downloads: the result JSON as shown, and the CLI's full HTML report built in the page.
      const [json] = await Promise.all([w.page.waitForEvent('download'), w.page.click('#dl-json')]);
      expect(JSON.parse(readFileSync((await json.path())!, 'utf8'))).toEqual(results);
      const [report] = await Promise.all([w.page.waitForEvent('download', { timeout: 120_000 }), w.page.click('#dl-report')]);
      const html = readFileSync((await report.path())!, 'utf8');
      expect(html).toMatch(/^<!doctype html>/i);
      expect(html).toContain('<svg');
      expect(html).toContain(results[1].params.kappa.toPrecision(4));
      expect(html).not.toMatch(/<script[^>]+src=|https?:\/\/(?!www\.w3\.org)/);
      await w.page.screenshot({ path: join(OUT, 'cpu-black-heston.png'), fullPage: true });
      expect(w.problems).toEqual([]);
    } finally {
      await w.close();
    }
  }, 600_000);

  it('a dropped CSV with bad rows shows each exclusion with its reason and still fits; a file with no usable quotes says so', async () => {
    const w = await open('cpu', '?models=heston');
    try {
      await w.page.waitForFunction(() => !(document.querySelector('[data-testid="run"]') as HTMLButtonElement).disabled, null, { timeout: 120_000 });
      // The CLI's canonical output with three rows broken: a price that is not a number, a
      // negative strike, an unknown option type.
      const lines = quotesCsv.trimEnd().split('\n');
      const header = lines[0].split(',');
      const col = (name: string) => header.indexOf(name);
      const breakCell = (line: number, name: string, value: string) => {
        const cells = lines[line].split(',');
        cells[col(name)] = value;
        lines[line] = cells.join(',');
      };
      breakCell(3, 'price', 'abc');
      breakCell(7, 'strike', '-5');
      breakCell(11, 'type', 'straddle');
      // Dropped on the drop zone (a real DataTransfer and drop event); the empty file below is picked.
      await w.page.evaluate((text) => {
        const dt = new DataTransfer();
        dt.items.add(new File([text], 'bad-rows.csv', { type: 'text/csv' }));
        document.querySelector('[data-testid="drop"]')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      }, lines.join('\n') + '\n');
      await w.page.waitForFunction(() => /bad-rows\.csv .*quotes kept/.test(document.querySelector('[data-testid="data-status"]')!.textContent!), null, { timeout: 60_000 });
      const excluded = await w.page.$$eval('[data-testid="exclusions"] tbody tr', (rows) => rows.map((r) => Array.from(r.children, (c) => c.textContent)));
      for (const row of ['3', '7', '11']) expect(excluded.some((e) => e[0] === row), `row ${row} listed`).toBe(true);
      expect(excluded.every((e) => (e[1] ?? '').length > 0)).toBe(true);
      const { results } = await runToResults(w.page);
      expect(results[0].converged).toBe(true);
      expect(results[0].quotes.used).toBeLessThanOrEqual(lines.length - 1 - 3);
      await w.page.screenshot({ path: join(OUT, 'bad-rows.png'), fullPage: true });

      // Every row unusable (no bid, no ask, no price): a message, no fit, no blank page.
      const empty = ['expiry,strike,type,bid,ask,forward', '0.5,100,call,,,100', '0.5,110,put,,,100'].join('\n');
      await w.page.setInputFiles('[data-testid="file"]', { name: 'empty.csv', mimeType: 'text/csv', buffer: Buffer.from(empty) });
      await w.page.waitForSelector('[data-testid="data-error"]:not([hidden])', { timeout: 60_000 });
      const message = (await w.page.textContent('[data-testid="data-error"]'))!;
      expect(message).toMatch(/^empty\.csv: /);
      expect(message.length).toBeGreaterThan(20);
      expect(await w.page.isDisabled('[data-testid="run"]')).toBe(true);
      expect(w.problems).toEqual([]);
    } finally {
      await w.close();
    }
  }, 600_000);

  it('a forced tier that is missing is an error on the page, not a silent swap', async () => {
    const w = await open('cpu', '?models=heston&backend=webgpu');
    try {
      await w.page.waitForSelector('[data-testid="fit-error"]:not([hidden])', { timeout: 60_000 });
      expect(await w.page.textContent('[data-testid="fit-error"]')).toMatch(/^backend=webgpu requested but unavailable: /);
      expect(await w.page.textContent('[data-testid="tier"]')).toBe('none');
      expect(await w.page.isDisabled('[data-testid="run"]')).toBe(true);
      expect(w.problems).toEqual([]);
    } finally {
      await w.close();
    }
  }, 600_000);

  it('cancel stops a running fit and the page can run again; the shareable link re-runs the same fit', async () => {
    const w = await open('cpu', '?models=bates');
    try {
      await w.page.waitForFunction(() => !(document.querySelector('[data-testid="run"]') as HTMLButtonElement).disabled, null, { timeout: 120_000 });
      await w.page.click('[data-testid="run"]');
      await w.page.waitForFunction(() => /iteration/.test(document.querySelector('[data-testid="progress"]')!.textContent!), null, { timeout: 60_000 });
      await w.page.click('[data-testid="cancel"]');
      expect(await w.page.textContent('[data-testid="progress"]')).toMatch(/^cancelled after/);
      expect(await w.page.$('[data-testid="result-json"]')).toBeNull();
      const share = await w.page.getAttribute('[data-testid="share"]', 'href');
      expect(share).toMatch(/models=bates/);
      expect(share).toMatch(/run=1/);
      const link = share!.replace('models=bates', 'models=black');
      await w.page.goto(new URL(link, url).href);
      const el = await w.page.waitForSelector('[data-testid="result-json"]', { state: 'attached', timeout: 120_000 });
      expect(JSON.parse((await el.textContent())!).map((r: CalibrationResult) => r.model)).toEqual(['black']);
      expect(w.problems).toEqual([]);
    } finally {
      await w.close();
    }
  }, 600_000);
});

/** Until `check`, evaluated (and awaited) in the page, is true; throws after `timeoutMs`. */
async function pollPage(page: Page, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await page.evaluate(check))) {
    if (Date.now() > end) throw new Error(`page condition not met in ${timeoutMs / 1000} s: ${check.toString()}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

describe.skipIf(!hasChromium)('browser app offline', () => {
  it('works offline once loaded: with its server gone, a reload still fits (service worker cache)', async () => {
    const own = createAppServer(appDir);
    const ownUrl = await listen(own, 0, '127.0.0.1');
    const { chromium } = await import('playwright-core');
    const profile = mkdtempSync(join(tmpdir(), 'volfit-chromium-'));
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_FLAGS, ...TIER_FLAGS.cpu] });
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(String(e)));
      await page.goto(`${ownUrl}?models=heston`);
      await page.waitForFunction(() => !(document.querySelector('[data-testid="run"]') as HTMLButtonElement).disabled, null, { timeout: 120_000 });
      // The page hands the service worker its files; wait until they are all in its cache.
      // The page itself (only the page's hand-over caches it: it loaded before the service worker
      // ran) and the report chunk, which the page never loaded: the whole precache list is in.
      // Polled through page.evaluate, which awaits the check: waitForFunction takes the Promise
      // an async predicate returns as truthy at once, and the offline reload then raced the
      // cache's addAll (ERR_FAILED on loaded machines).
      await pollPage(page, async () => {
        const urls = (await (await caches.open('volfit-web-v1')).keys()).map((r) => new URL(r.url));
        return urls.some((u) => u.pathname === location.pathname) && urls.some((u) => /report-[^/]*\.js$/.test(u.pathname));
      });
      const closed = new Promise<void>((ok) => own.close(() => ok()));
      own.closeAllConnections();
      await closed;
      // The browser offline as well as the server gone: every request must come from the service
      // worker's cache.
      await context.setOffline(true);
      await page.goto(`${ownUrl}?models=black&run=1`);
      const el = await page.waitForSelector('[data-testid="result-json"]', { state: 'attached', timeout: 120_000 });
      expect(JSON.parse((await el.textContent())!).map((r: CalibrationResult) => r.model)).toEqual(['black']);
      // The report's chunk was never loaded online: it comes from the precached build.
      const [report] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), page.click('#dl-report')]);
      expect(readFileSync((await report.path())!, 'utf8')).toMatch(/<svg/);
      expect(problems).toEqual([]);
    } finally {
      own.close();
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  }, 600_000);
});

describe('volfit serve', () => {
  it('serves files of the app folder only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'volfit-serve-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html>ok');
    const s = createAppServer(dir);
    const base = await listen(s, 0, '127.0.0.1');
    try {
      const index = await fetch(base);
      expect(index.status).toBe(200);
      expect(index.headers.get('content-type')).toMatch(/text\/html/);
      expect(await index.text()).toBe('<!doctype html>ok');
      expect((await fetch(`${base}missing.js`)).status).toBe(404);
      expect((await fetch(`${base}..%2f..%2fetc%2fpasswd`)).status).toBe(404);
      expect((await fetch(base, { method: 'POST' })).status).toBe(405);
    } finally {
      s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('volfit serve (CLI)', () => {
  it('serves the built app and prints its URL, or says how to build it; a bad --port is a one-line error', async () => {
    const { spawn } = await import('node:child_process');
    const { existsSync } = await import('node:fs');
    const { WEB_APP_DIR } = await import('../../src/webapp/serve.js');
    const bad = spawn(process.execPath, [join(root, 'bin/volfit.js'), 'serve', '--port', '70000']);
    let badErr = '';
    bad.stderr.on('data', (d) => (badErr += d));
    expect(await new Promise((ok) => bad.on('close', ok))).toBe(2);
    expect(badErr.trim()).toBe("volfit: error: --port must be an integer in [0, 65535], got '70000'");

    const child = spawn(process.execPath, [join(root, 'bin/volfit.js'), 'serve', '--port', '0']);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const closed = new Promise<number | null>((ok) => child.on('close', ok));
    try {
      if (!existsSync(join(WEB_APP_DIR, 'index.html'))) {
        // npm run build:web (run by `prepare`) has not been run in this checkout.
        expect(await closed).toBe(2);
        expect(err).toMatch(/the web app is not built .*run npm run build:web/);
        return;
      }
      const deadline = Date.now() + 30_000;
      while (!/http:\/\/127\.0\.0\.1:\d+\//.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const appUrl = /http:\/\/127\.0\.0\.1:\d+\//.exec(out)![0];
      const res = await fetch(appUrl);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('data-testid="run"');
    } finally {
      child.kill('SIGTERM');
      await closed;
    }
  });
});
