/**
 * `volfit report` end to end on files: a fit JSON and the canonical CSV it was made from
 * (SYNTHETIC Heston surface, fixture.ts) -> index.html whose numbers match the fit; bad fit
 * files and mismatched quote files are one-line errors (exit 2).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseHTML } from 'linkedom';
import { runCli as run } from '../cli/run.js';
import { fitBlackFlat } from '../../src/calibrator/sliceFit.js';
import { parseFitResult } from '../../src/report/fit.js';
import { rng, testSeed } from '../helpers/random.js';
import { writeCanonicalCsv } from '../../src/market/canonical.js';
import { hestonFitAt, syntheticSurface } from './fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'volfit-report-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const s = syntheticSurface(rng());
const quotesCsv = join(dir, 'quotes.csv');
writeFileSync(quotesCsv, s.csv);
const heston = hestonFitAt({ ...s.truth, kappa: s.truth.kappa * 1.2 }, s.quotes);
const hestonJson = join(dir, 'heston.json');
writeFileSync(hestonJson, JSON.stringify(heston));
const blackJson = join(dir, 'black.json');
writeFileSync(blackJson, JSON.stringify(fitBlackFlat(s.quotes)));


describe('volfit report', () => {
  it('writes index.html for two fits, numbers matching each fit JSON', async () => {
    const out = join(dir, 'report');
    const r = await run(['report', '--fit', hestonJson, blackJson, '--quotes', quotesCsv, '--out', out, '--bootstrap', '0', '--backend', 'cpu', '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(join(out, 'index.html'));
    const { document } = parseHTML(readFileSync(join(out, 'index.html'), 'utf8'));
    for (const file of [hestonJson, blackJson]) {
      const fit = parseFitResult(JSON.parse(readFileSync(file, 'utf8')));
      for (const [name, v] of Object.entries(fit.params)) {
        const el = document.querySelector(`[data-fit="${fit.model}"][data-field="params.${name}"]`);
        expect(Number(el?.getAttribute('data-value')), `${fit.model}.${name}`).toBe(v);
      }
      expect(Number(document.querySelector(`[data-fit="${fit.model}"][data-field="rmse_iv"]`)!.getAttribute('data-value'))).toBe(fit.rmse_iv);
    }
    // One model curve per model in each of the 4 smiles.
    for (const smile of Array.from(document.querySelectorAll('#smiles .smile'))) {
      expect(smile.querySelectorAll('[aria-label="line"] path').length).toBe(2);
    }
  });

  it('works on a real `volfit calibrate --out` result (the calibrator\'s own JSON shape)', async () => {
    const fitFile = join(dir, 'calibrated.json');
    const start = Object.entries(s.truth).map(([k, v]) => `${k}=${(v * 1.05).toPrecision(6)}`).join(',');
    const c = await run(['calibrate', '--input', quotesCsv, '--model', 'heston', '--start', start, '--route', 'lm', '--backend', 'cpu', '--out', fitFile, '--json']);
    expect(c.code, c.stderr).toBe(0);
    const out = join(dir, 'report-calibrated');
    const r = await run(['report', '--fit', fitFile, '--quotes', quotesCsv, '--out', out, '--bootstrap', '1', '--backend', 'cpu', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const fit = JSON.parse(readFileSync(fitFile, 'utf8'));
    const { document } = parseHTML(readFileSync(join(out, 'index.html'), 'utf8'));
    for (const [name, v] of Object.entries(fit.params as Record<string, number>)) {
      expect(Number(document.querySelector(`[data-field="params.${name}"]`)?.getAttribute('data-value'))).toBe(v);
    }
    // The synthetic surface is exactly Heston: the fit recovers it, so RMSE is ~0 and the page says so.
    expect(fit.rmse_iv).toBeLessThan(1e-4);
    // One marker per optimizer step of the history.
    expect(document.querySelectorAll('#convergence [aria-label="dot"] > *').length).toBe(fit.history.length);
    expect(document.querySelector('.greeks h4')?.textContent).toMatch(/bootstrap/);
  });

  it('refuses a fit file with a bad field, naming it', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...heston, params: { ...heston.params, v0: 'x' } }));
    const r = await run(['report', '--fit', bad, '--quotes', quotesCsv, '--out', join(dir, 'x')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/params\.v0/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses a quote file the fit was not made from', async () => {
    const other = join(dir, 'other.csv');
    writeFileSync(other, s.csv.split('\n').slice(0, 6).join('\n'));
    const r = await run(['report', '--fit', hestonJson, '--quotes', other, '--out', join(dir, 'y')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not in this file/);
  });

  it('refuses a fit made from another file with the same row numbers (market IVs differ), naming the rows', async () => {
    const o = syntheticSurface(rng(testSeed + 1));
    const otherCsv = join(dir, 'other-same-rows.csv');
    writeFileSync(otherCsv, o.csv);
    const r = await run(['report', '--fit', hestonJson, '--quotes', otherCsv, '--out', join(dir, 'z'), '--bootstrap', '0', '--quiet']);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^volfit: error: --quotes .*other-same-rows\.csv does not match the heston fit .*heston\.json: row \d+ market IV [\d.]+ in the fit, [\d.]+ in the quotes/);
    expect(lines[0]).toMatch(/\(\d+ of 36 fitted rows differ\)/);
  });

  it('calibrate residuals carry strike and expiry (years); report refuses a file whose strikes moved', async () => {
    const fitFile = join(dir, 'calibrated.json');
    const fit = JSON.parse(readFileSync(fitFile, 'utf8'));
    for (const r of fit.residuals) {
      const q = s.quotes.find((x) => x.row === r.row)!;
      expect(r.strike).toBe(q.strike);
      expect(r.expiry).toBe(q.T);
    }
    // Same prices, strikes shifted by one cent: the fit does not belong to it.
    const moved = join(dir, 'moved.csv');
    writeFileSync(moved, writeCanonicalCsv(s.quotes.map((q) => ({ ...q, strike: q.strike + 0.01 }))));
    const r = await run(['report', '--fit', fitFile, '--quotes', moved, '--out', join(dir, 'w'), '--bootstrap', '0', '--quiet']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/row 1 strike [\d.]+ in the fit, [\d.]+ in the quotes/);
  });

  it('refuses something that is not JSON', async () => {
    const notJson = join(dir, 'x.json');
    writeFileSync(notJson, 'model,heston');
    const r = await run(['report', '--fit', notJson, '--quotes', quotesCsv]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not JSON/);
  });
});
