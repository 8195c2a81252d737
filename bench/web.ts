/**
 * The browser app (web/): time from page load to a fitted Heston on the bundled BTC snapshot per
 * tier (median of 3 fresh headless chromium runs, `?models=heston&run=1`: fetch, normalize,
 * fit), and the bundle's sizes. Debian's chromium drives SwiftShader for both GPU tiers here: the
 * figures show the pipeline's cost on a CPU-emulated GPU, not GPU speed.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { recordResults, type BenchRow } from './lib/results.js';
import { createAppServer, listen } from '../src/webapp/serve.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const RUNS = 3;
const BASE = ['--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TIERS: Record<string, string[]> = {
  webgpu: ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan'],
  webgl2: ['--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  cpu: ['--disable-gpu', '--disable-software-rasterizer', '--disable-3d-apis'],
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function bundleRows(dir: string): BenchRow[] {
  const files = readdirSync(join(dir, 'assets')).map((f) => join('assets', f));
  const size = (f: string) => statSync(join(dir, f)).size;
  const gz = (f: string) => gzipSync(readFileSync(join(dir, f)), { level: 9 }).length;
  const pick = (re: RegExp) => files.filter((f) => re.test(f));
  const group = (name: string, fs: string[]): BenchRow => ({
    name,
    bytes: fs.reduce((a, f) => a + size(f), 0),
    gzip_bytes: fs.reduce((a, f) => a + gz(f), 0),
    files: fs.map((f) => f.replace(/-[\w-]{8}\./, '.')).join(' '),
  });
  return [
    group('web bundle: page (html, css, js)', ['index.html', ...pick(/^assets\/index-.*\.(js|css)$/)]),
    group('web bundle: fit worker (library, WGSL, GLSL)', pick(/^assets\/worker-.*\.js$/)),
    group('web bundle: bundled snapshot (csv)', pick(/\.csv$/)),
    group('web bundle: report (lazy, on download)', pick(/^assets\/report-.*\.js$/)),
  ];
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'volfit-web-bench-'));
  const { build } = await import('vite');
  await build({ configFile: join(root, 'web/vite.config.ts'), logLevel: 'silent', build: { outDir: dir, emptyOutDir: true } });
  const server = createAppServer(dir);
  const url = await listen(server, 0, '127.0.0.1');
  const { chromium } = await import('playwright-core');
  const rows: BenchRow[] = bundleRows(dir);
  try {
    for (const [tier, flags] of Object.entries(TIERS)) {
      const load: number[] = [];
      const fit: number[] = [];
      let info: { adapter: string; backend: string; rmse: number; iterations: number } | undefined;
      for (let i = 0; i < RUNS; i++) {
        const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: [...BASE, ...flags] });
        try {
          const page = await browser.newPage();
          await page.goto(`${url}?models=heston&run=1`);
          const el = await page.waitForSelector('[data-testid="result-json"]', { state: 'attached', timeout: 600_000 });
          const [r] = JSON.parse((await el.textContent())!);
          load.push(Number(await el.getAttribute('data-load-to-fitted')));
          fit.push(r.seconds);
          info = { adapter: (await page.textContent('[data-testid="tier"]'))!, backend: r.backend, rmse: r.rmse_iv, iterations: r.iterations };
        } finally {
          await browser.close();
        }
      }
      rows.push({ name: `web load to fitted heston (${tier})`, seconds: median(load), fit_seconds: median(fit), backend: info!.backend, rmse_iv: info!.rmse, iterations: info!.iterations, tier: info!.adapter });
      console.log(`${tier}: load to fitted ${median(load).toFixed(2)} s (fit ${median(fit).toFixed(2)} s) on ${info!.adapter}`);
    }
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  recordResults(rows, 'web', [
    `Page load to fitted Heston on the bundled Deribit BTC snapshot (249 quotes), median of ${RUNS} fresh headless Debian chromium runs of the production build: fetch and normalize the snapshot in the worker, fit from the demo's start; fit_seconds is calibrate() alone. Measured on the shared 2-core sandbox while other sessions ran (load average 4-7).`,
    'webgpu and webgl2 both run on SwiftShader here (WebGPU through Vulkan, WebGL2 through ANGLE): correctness, not GPU speed; the f64 CPU tier is the fast one on such a machine (the demo\'s auto choice makes the same call).',
    'Bundle: first screen = page + worker + snapshot; the report chunk (Observable Plot, linkedom) loads only when the HTML report is downloaded.',
  ]);
}
