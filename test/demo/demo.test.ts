/**
 * `volfit demo` on the bundled REAL data (Deribit BTC snapshot 2026-01-05), as a newcomer runs
 * it: through the CLI, on the CPU backend, and on WebGPU (SwiftShader here; Heston only there,
 * since f32 COS on a software rasteriser takes ~30 s per fit). Checks the data accounting, that
 * the smile models beat flat vol and Bates (which nests Heston) is no worse than Heston, that
 * the JSON and the page agree, and that the page renders in chromium without console errors.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseHTML } from 'linkedom';
import { runCli as run } from '../cli/run.js';
import { runDemo, type DemoSummary } from '../../src/demo/demo.js';
import { hasGpu } from '../helpers/gpu.js';
import { hasChromium, inspectPage } from '../report/chromium.js';

const dir = mkdtempSync(join(tmpdir(), 'volfit-demo-test-'));
/** The CPU run's Heston RMSE (vol), the reference for the WebGPU run. */
let cpuHestonRmse: number | undefined;
afterAll(() => rmSync(dir, { recursive: true, force: true }));


describe('volfit demo on the CPU backend', () => {
  const out = join(dir, 'cpu');
  let summary: DemoSummary;
  let stderr = '';

  it('runs through the CLI and prints JSON with every calibration result', async () => {
    // Speed is not asserted here (bench/ measures speed): 13-30 s were seen on 2 shared cores.
    const r = await run(['demo', '--backend', 'cpu', '--out', out, '--json', '--bootstrap', '2']);
    stderr = r.stderr;
    expect(r.code, r.stderr).toBe(0);
    summary = JSON.parse(r.stdout);
    expect(summary.seconds).toBeGreaterThan(0);
    expect(summary.results.map((f) => f.model)).toEqual(['black', 'ssvi', 'heston', 'bates']);
    expect(summary.backend).toMatch(/^cpu/);
    cpuHestonRmse = summary.results[2].rmse_iv!;
  }, 300_000);

  it('shows progress per stage on stderr', () => {
    for (const stage of ['normalize', 'fit black', 'fit ssvi', 'fit heston', 'fit bates', 'report']) expect(stderr).toContain(stage);
  });

  it('accounts for every row of the file', () => {
    const d = summary.data;
    expect(d.rows_in).toBe(1288); // BTC + ETH rows, SOURCE.md
    expect(d.quotes + d.excluded).toBe(d.rows_in);
    expect(d.quotes).toBeGreaterThan(100);
    expect(d.source).toMatch(/real market data/);
  });

  it('fits: finite, converged, smile models beat flat vol, Bates no worse than the Heston it nests', () => {
    const [black, ssvi, heston, bates] = summary.results;
    for (const f of summary.results) {
      expect(f.converged, f.model).toBe(true);
      for (const v of Object.values(f.params)) expect(Number.isFinite(v)).toBe(true);
      expect(f.quotes.used).toBe(summary.data.quotes - f.quotes.excluded.length);
    }
    expect(heston.rmse_iv!).toBeLessThan(black.rmse_iv!);
    // The ladder's second rung: SSVI (src/surface/README.md: 1.27 vol points on this snapshot), arbitrage-free, one slice per expiry.
    expect(ssvi.rmse_iv!).toBeLessThan(black.rmse_iv!);
    expect(100 * ssvi.rmse_iv!).toBeLessThan(1.275 * 1.25);
    expect(ssvi.arbitrage?.free).toBe(true);
    expect(ssvi.slices).toHaveLength(summary.data.expiries);
    // Bates with lambda = 0 is Heston and starts from the Heston optimum: LM only goes down.
    expect(bates.objective).toBeLessThanOrEqual(heston.objective * (1 + 1e-9));
    // Documented fit quality on this snapshot: Heston 1.84, Bates 1.70 vol points.
    expect(100 * heston.rmse_iv!).toBeLessThan(2.5);
    expect(summary.fits.find((f) => f.model === 'heston')!.rmse_iv_vol_points).toBeCloseTo(100 * heston.rmse_iv!, 12);
  });

  it('writes a report whose numbers match the JSON', () => {
    expect(summary.report).toBe(join(out, 'index.html'));
    const { document } = parseHTML(readFileSync(summary.report, 'utf8'));
    for (const f of summary.results) {
      for (const [k, v] of Object.entries(f.params)) {
        const el = document.querySelector(`[data-fit="${f.model}"][data-field="params.${k}"]`);
        expect(Number(el?.getAttribute('data-value')), `${f.model}.${k}`).toBe(v);
      }
    }
    expect(document.querySelectorAll('#smiles .smile svg').length).toBe(summary.data.expiries);
    expect(document.querySelectorAll('#greeks .greeks').length).toBe(4);
    expect(document.querySelector('#data')!.textContent).toContain('normalize');
  });

  it.skipIf(!hasChromium)('renders in chromium with no console error and nothing loaded from outside', async () => {
    const shot = join(tmpdir(), 'volfit-demo-test.png');
    const page = await inspectPage(summary.report, shot);
    console.info(`[volfit tests] demo report screenshot: ${shot}`);
    expect(page.consoleErrors).toEqual([]);
    expect(page.foreignRequests).toEqual([]);
    const charts = page.svgs.filter((s) => s.width > 200 && s.height > 100);
    expect(charts.filter((c) => c.section === 'smiles').length).toBe(summary.data.expiries);
    expect(charts.filter((c) => c.section === 'greeks').length).toBeGreaterThanOrEqual(9);
  }, 60_000);

  it('prints the human summary by default', async () => {
    const r = await run(['demo', '--backend', 'cpu', '--out', join(dir, 'cpu2'), '--bootstrap', '0', '--models', 'black', '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/black\s+5\.\d\d\s+yes/);
    expect(r.stdout).toContain(join(dir, 'cpu2', 'index.html'));
  });

  it('rejects an unknown model', async () => {
    const r = await run(['demo', '--models', 'sabr', '--out', join(dir, 'x')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown sabr/);
  });
});

describe.skipIf(!hasGpu)('volfit demo on WebGPU', () => {
  it('fits Heston on the GPU to the CPU fit within the f32 floor', async () => {
    const s = await runDemo({ backend: 'webgpu', out: join(dir, 'gpu'), bootstrap: 0, models: ['black', 'heston'] });
    const heston = s.results.find((f) => f.model === 'heston')!;
    expect(heston.backend).toBe('webgpu');
    expect(heston.converged).toBe(true);
    // f32 COS with a Black-Scholes control variate prices to ~1e-5 in vol: the optimum's RMSE
    // matches the f64 fit's (1.84 vol points) to well within 0.05 vol points.
    const reference = cpuHestonRmse ?? 0.0184;
    expect(Math.abs(100 * (heston.rmse_iv! - reference))).toBeLessThan(0.05);
  }, 300_000);
});
