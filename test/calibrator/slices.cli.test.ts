/**
 * Slice models through `volfit calibrate` (calibrate's slice path, src/calibrator/sliceFit.ts) on
 * the bundled real Deribit BTC snapshot, normalized first: the JSON contract of issue 14
 * (calibrate's fields plus `slices` and `arbitrage`), RMSEs against src/surface/README.md (25 %
 * headroom), arbitrage-free SSVI/eSSVI, the arbitrage flags, Black through the same path, and
 * `volfit report` on the results (smiles, per-slice parameters, surface plots).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHTML } from 'linkedom';
import { runCli } from '../cli/run.js';
import { hasGpu } from '../helpers/gpu.js';
import { calibrate } from '../../src/calibrator/calibrate.js';
import { fitBlackFlat } from '../../src/calibrator/sliceFit.js';
import type { CalibrationResult } from '../../src/calibrator/result.js';
import { parseCanonicalCsv } from '../../src/market/canonical.js';
import { getModel } from '../../src/models/index.js';
import { parseFitResult } from '../../src/report/fit.js';

const dir = mkdtempSync(join(tmpdir(), 'volfit-slices-'));
const quotes = join(dir, 'btc.csv');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SNAPSHOT = 'data/deribit-btc-eth-snapshot-2026-01-05/deribit_options_snapshot_20260105T153329Z.csv';
/** src/surface/README.md, BTC 2026-01-05, vol points; black: README demo table. */
const RMSE = { svi: 0.232, ssvi: 1.275, essvi: 1.023, black: 5.61 } as const;
const fits: Record<string, CalibrationResult> = {};

async function calibrateCli(model: string, ...extra: string[]) {
  const out = join(dir, `${model}${extra.join('')}.json`);
  const r = await runCli(['calibrate', '--input', quotes, '--model', model, '--backend', 'cpu', '--json', '--out', out, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  const fit = JSON.parse(r.stdout) as CalibrationResult;
  expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(fit);
  return { fit, out, stderr: r.stderr };
}

beforeAll(async () => {
  const r = await runCli(['normalize', '--input', SNAPSHOT, '--underlying', 'BTC', '--out', quotes]);
  expect(r.code, r.stderr).toBe(0);
}, 60_000);

describe('volfit calibrate --model svi|ssvi|essvi|black (BTC 2026-01-05)', () => {
  it.each(['svi', 'ssvi', 'essvi', 'black'] as const)('%s: calibrate\'s JSON plus slices and arbitrage', async (model) => {
    const { fit } = await calibrateCli(model);
    fits[model] = fit;
    for (const k of ['model', 'params', 'stderr', 'rmse_iv', 'rmse_price', 'objective', 'iterations', 'evaluations', 'route', 'converged', 'backend', 'seconds', 'quotes', 'residuals', 'message', 'slices', 'arbitrage']) {
      expect(fit, k).toHaveProperty(k);
    }
    expect(fit.model).toBe(model);
    expect(fit.backend).toBe('cpu');
    expect(fit.converged).toBe(true);
    expect(fit.route.name).toBe(model === 'black' ? 'closed-form' : 'surface');
    expect(100 * fit.rmse_iv!).toBeLessThan(RMSE[model] * 1.25);
    expect(100 * fit.rmse_iv!).toBeGreaterThan(RMSE[model] * 0.75);
    // 249 quotes; the surface fits drop one as wide_vol_spread (the deep ITM 80000 call).
    expect(fit.quotes.used + fit.quotes.excluded.length).toBe(249);
    expect(fit.residuals).toHaveLength(fit.quotes.used);
    for (const r of fit.residuals) {
      for (const k of ['row', 'market_iv', 'model_iv', 'weight', 'strike', 'expiry'] as const) expect(Number.isFinite(r[k]), `${model} residual ${k}`).toBe(true);
    }
    // One slice per expiry in increasing T, each {T, forward, params}.
    const slices = fit.slices!;
    expect(slices).toHaveLength(11);
    slices.forEach((s, i) => {
      expect(s.T).toBeGreaterThan(i > 0 ? slices[i - 1].T : 0);
      expect(s.forward).toBeGreaterThan(80_000);
      for (const v of Object.values(s.params)) expect(Number.isFinite(v)).toBe(true);
    });
    const keys = { svi: ['a', 'b', 'rho', 'm', 'sigma'], ssvi: ['theta'], essvi: ['theta', 'rho', 'psi'], black: ['vol'] }[model];
    for (const s of slices) expect(Object.keys(s.params)).toEqual(keys);
    const global = { svi: [], ssvi: ['rho', 'eta', 'gamma'], essvi: [], black: slices.map((s) => `vol_${s.expiry.slice(0, 10)}`) }[model];
    expect(Object.keys(fit.params)).toEqual(global);
    const a = fit.arbitrage!;
    expect(typeof a.free).toBe('boolean');
    expect(Array.isArray(a.butterfly) && Array.isArray(a.calendar)).toBe(true);
    expect(a.free).toBe(a.butterfly.length + a.calendar.length + a.lee.length === 0);
    // README: svi leaves 3 calendar violations in the far wings; ssvi and essvi are arbitrage-free by construction.
    if (model === 'ssvi' || model === 'essvi') {
      expect(a.free).toBe(true);
      expect(fit.arbitrage_free).toBe(true);
    }
    if (model === 'black') {
      // Same vol top-level and in its slice; theta monotone: total variance grows on this snapshot.
      slices.forEach((s) => expect(fit.params[`vol_${s.expiry.slice(0, 10)}`]).toBe(s.params.vol));
    }
  }, 60_000);

  it('black through calibrate() equals the closed-form fit (fitBlackFlat)', async () => {
    const { quotes: qs } = parseCanonicalCsv(readFileSync(quotes, 'utf8'));
    const viaCalibrate = await calibrate(qs, { model: getModel('black') });
    const direct = fitBlackFlat(qs);
    expect(viaCalibrate.params).toEqual(direct.params);
    expect(viaCalibrate.residuals).toEqual(direct.residuals);
    expect(viaCalibrate.rmse_iv).toBe(direct.rmse_iv);
    expect(fits.black.params).toEqual(direct.params);
  });

  it('--no-arbitrage constrains svi (free, RMSE 0.24); --allow-arbitrage frees ssvi', async () => {
    const free = (await calibrateCli('svi', '--no-arbitrage')).fit;
    expect(free.arbitrage_free).toBe(true);
    expect(free.arbitrage!.free).toBe(true);
    expect(100 * free.rmse_iv!).toBeLessThan(0.239 * 1.25);
    const loose = (await calibrateCli('ssvi', '--allow-arbitrage')).fit;
    expect(loose.arbitrage_free).toBe(false);
    // README: the constraints do not bind on BTC, so the same RMSE.
    expect(Math.abs(loose.rmse_iv! - fits.ssvi.rmse_iv!)).toBeLessThan(2e-4);
  }, 120_000);

  it.skipIf(!hasGpu)('svi --backend webgpu: the grid stage in one WebGPU dispatch, then the same f64 fit as the CPU', async () => {
    const cpu = fits.svi ?? (await calibrateCli('svi')).fit;
    const out = join(dir, 'svi-webgpu.json');
    const r = await runCli(['calibrate', '--input', quotes, '--model', 'svi', '--backend', 'webgpu', '--json', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const fit = JSON.parse(r.stdout) as CalibrationResult;
    expect(fit.backend).toBe('webgpu');
    // The f32 grid ranks the cells as the f64 twin does here; Nelder-Mead and the polish are f64.
    expect(Math.abs(fit.rmse_iv! - cpu.rmse_iv!)).toBeLessThan(1e-9);
    fit.slices!.forEach((s, i) => {
      for (const [k, v] of Object.entries(s.params)) expect(Math.abs(v - cpu.slices![i].params[k]), `slice ${i} ${k}`).toBeLessThan(1e-6);
    });
    // A slice model without a WebGPU stage says where it ran.
    const e = await runCli(['calibrate', '--input', quotes, '--model', 'ssvi', '--backend', 'webgpu', '--json']);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout).backend).toBe('cpu');
    expect(e.stderr).toMatch(/ssvi: fitted on the CPU in f64/);
  }, 120_000);

  it('refuses what a slice fit does not have, in one line (exit 2)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--model', 'heston', '--no-arbitrage'], /--no-arbitrage applies to the slice models \(black, svi, ssvi, essvi\), not heston/],
      [['--model', 'black', '--no-arbitrage'], /--no-arbitrage: black has no arbitrage-constrained fit/],
      [['--model', 'ssvi', '--no-arbitrage', '--allow-arbitrage'], /not both/],
      [['--model', 'svi', '--start', 'a=0.1'], /--start: svi is a slice model .*a start is not used/],
      [['--model', 'essvi', '--objective', 'price'], /essvi is a slice model .*'price' is not available/],
      [['--model', 'ssvi', '--route', 'lm'], /ssvi is a slice model .*'lm' is not available/],
      [['--model', 'svi', '--feller'], /--feller\) applies to process models/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['calibrate', '--input', quotes, '--backend', 'cpu', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const price = await runCli(['price', '--model', 'svi', '--params', 'a=1', '--spot', '100', '--expiry', '1', '--strikes', '100']);
    expect(price.code).toBe(2);
    expect(price.stderr).toMatch(/svi is a slice model/);
  }, 60_000);

  it('volfit report takes svi, ssvi and essvi fits: smiles for every expiry, bounds checked per slice', async () => {
    const files = ['svi', 'ssvi', 'essvi'].map((m) => join(dir, `${m}.json`));
    const out = join(dir, 'report');
    const r = await runCli(['report', ...files.flatMap((f) => ['--fit', f]), '--quotes', quotes, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const { document } = parseHTML(readFileSync(join(out, 'index.html'), 'utf8'));
    expect(document.querySelectorAll('#smiles .smile svg').length).toBe(11);
    expect(document.querySelectorAll('#greeks .greeks').length).toBe(3);
    expect(document.querySelector('#fits')!.textContent).not.toMatch(/no smile curve|no surface plots/);
    expect(Number(document.querySelector('[data-fit="ssvi"][data-field="params.eta"]')?.getAttribute('data-value'))).toBe(fits.ssvi.params.eta);
    expect(Number(document.querySelector('[data-fit="essvi"][data-field="slices.10.params.psi"]')?.getAttribute('data-value'))).toBe(fits.essvi.slices![10].params.psi);
    // Surfaces: total variance, density and local vol per fit; local vol exists everywhere on the
    // arbitrage-free SSVI and eSSVI surfaces, not where the plain SVI slices cross (calendar).
    const surfaces = Array.from(document.querySelectorAll('#surfaces .surface'));
    expect(surfaces.map((e) => e.getAttribute('data-model'))).toEqual(['svi', 'ssvi', 'essvi']);
    for (const e of surfaces) expect(e.querySelectorAll('svg').length, e.getAttribute('data-model')!).toBeGreaterThanOrEqual(3);
    const undefinedLv = (m: string) => Number(document.querySelector(`[data-fit="${m}"][data-field="local_vol.undefined"]`)?.getAttribute('data-value') ?? 0);
    expect(undefinedLv('ssvi')).toBe(0);
    expect(undefinedLv('essvi')).toBe(0);
    expect(undefinedLv('svi')).toBeGreaterThan(0);
    // A slice outside its model's bounds is refused, naming the slice and parameter.
    const bad = structuredClone(fits.svi);
    bad.slices![3].params.rho = 1.5;
    expect(() => parseFitResult(bad, 'svi.json')).toThrow(/svi.json: field 'slices\[3\]\.params\.rho' = 1\.5 is outside the svi slice bounds \[-1, 1\]/);
    const noSlices = { ...fits.essvi, slices: undefined };
    expect(() => parseFitResult(noSlices, 'essvi.json')).toThrow(/field 'params'/);
    expect(() => parseFitResult({ ...fits.essvi, slices: [] }, 'essvi.json')).toThrow(/field 'params'/);
  }, 120_000);
});
