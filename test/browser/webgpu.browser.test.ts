/**
 * One set of WGSL files serves Node and browsers: the library's modules, bundled by esbuild,
 * load shaders/*.wgsl over HTTP in Debian's headless chromium (WebGPU on SwiftShader) and must
 * agree with the f64 CPU twins in the page as they do in Node.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { CHROMIUM, CHROMIUM_FLAGS, hasChromium } from '../report/chromium.js';
import { requireWebGpu } from '../helpers/gpu.js';
import { testSeed } from '../helpers/random.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'volfit-browser-'));
let server: Server;
let port = 0;

beforeAll(async () => {
  await build({
    entryPoints: [join(root, 'test/browser/entry.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    outfile: join(dir, 'bundle.js'),
    // Node-only branches (Dawn, fs) are never taken in a page.
    external: ['webgpu', 'node:*'],
    logLevel: 'silent',
  });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="/bundle.js"></script>');
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]));
    const file = path.startsWith('/shaders/') ? join(root, path) : join(dir, path === '/' ? 'index.html' : path);
    try {
      const body = readFileSync(file);
      const type = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.html') ? 'text/html' : 'text/plain';
      res.writeHead(200, { 'content-type': type }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  port = (server.address() as { port: number }).port;
});

afterAll(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasChromium)('WebGPU in a browser page (chromium, SwiftShader)', () => {
  it('runs the same WGSL kernels through navigator.gpu and matches the f64 twins', async () => {
    const { chromium } = await import('playwright-core');
    const profile = mkdtempSync(join(tmpdir(), 'volfit-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_FLAGS.filter((f) => f !== '--disable-gpu'), '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan'],
    });
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForFunction(() => typeof (window as unknown as { volfitCheck?: unknown }).volfitCheck === 'function');
      const r = (await page.evaluate((seed) => (window as unknown as { volfitCheck: (s: number) => Promise<unknown> }).volfitCheck(seed), testSeed)) as Record<string, unknown>;
      expect(errors).toEqual([]);
      console.info(`[volfit tests] page WebGPU: ${JSON.stringify(r)}`);
      if (r.error && !requireWebGpu) {
        console.warn(`[volfit tests] page has no WebGPU: ${r.error}`);
        return;
      }
      expect(r.error).toBeUndefined();
      // Same tolerances as the Node twin tests: raw f32 IV (Newton in f32) within 1e-5 relative,
      // COS f32 prices within 1e-6 of the forward.
      expect(r.ivErr as number).toBeLessThan(1e-5);
      expect(r.cosBackend).toBe('webgpu');
      expect(r.cosErr as number).toBeLessThan(1e-6);
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
