/**
 * The report page, structurally: every section and plot present, every number shown for a fit
 * equal to the fit JSON, the page self-contained. Data: SYNTHETIC Heston surface (fixture.ts).
 */
import { describe, expect, it } from 'vitest';
import { parseHTML } from 'linkedom';
import { buildReport } from '../../src/report/build.js';
import { renderReportHtml } from '../../src/report/html.js';
import { parseFitResult } from '../../src/report/fit.js';
import { rng } from '../helpers/random.js';
import { hestonFitAt, syntheticSurface, SYNTHETIC_SOURCE } from './fixture.js';

const r = rng();
const surface = syntheticSurface(r);
// Slightly wrong parameters: residuals are non-zero and known (exact model IVs).
const fitParams = { ...surface.truth, rho: surface.truth.rho + 0.05, sigma: surface.truth.sigma * 1.1 };
const fit = parseFitResult(JSON.parse(JSON.stringify(hestonFitAt(fitParams, surface.quotes))));
const data = await buildReport(surface.quotes, [fit], { dataSource: SYNTHETIC_SOURCE, generatedAt: 'test' });
const html = renderReportHtml(data);
const { document } = parseHTML(html);

describe('report page structure', () => {
  it('has every section', () => {
    for (const id of ['fits', 'smiles', 'residuals', 'parameters', 'convergence', 'greeks', 'data']) {
      expect(document.querySelector(`section#${id}`), id).not.toBeNull();
    }
  });

  it('draws one smile per expiry, a residual heatmap, convergence, three Greeks and an exclusion chart', () => {
    const count = (sel: string) => document.querySelectorAll(sel).length;
    expect(count('#smiles .smile svg')).toBeGreaterThanOrEqual(4);
    expect(count('#residuals .heatmap svg')).toBeGreaterThanOrEqual(1);
    expect(count('#convergence svg')).toBeGreaterThanOrEqual(1);
    expect(count('#greeks .greek svg')).toBeGreaterThanOrEqual(3);
    expect(count('#data svg')).toBeGreaterThanOrEqual(1);
    // Each smile has the market dots and bid/ask bars: 9 quotes per expiry in the fixture.
    const smile = document.querySelector('#smiles .smile')!;
    expect(smile.querySelectorAll('[aria-label="dot"] circle').length).toBe(9);
    expect(smile.querySelectorAll('[aria-label="rule"] line').length).toBe(9);
    expect(smile.querySelectorAll('[aria-label="line"] path').length).toBe(1);
  });

  it('shows the fit JSON numbers exactly', () => {
    const value = (field: string) => document.querySelector(`[data-fit="heston"][data-field="${field}"]`)?.getAttribute('data-value');
    for (const [name, v] of Object.entries(fit.params)) expect(Number(value(`params.${name}`))).toBe(v);
    for (const [name, v] of Object.entries(fit.stderr)) expect(Number(value(`stderr.${name}`))).toBe(v);
    expect(Number(value('rmse_iv'))).toBe(fit.rmse_iv);
    expect(Number(value('rmse_price'))).toBe(fit.rmse_price);
    expect(Number(value('objective'))).toBe(fit.objective);
    expect(Number(value('iterations'))).toBe(fit.iterations);
    expect(Number(value('quotes.used'))).toBe(fit.quotes.used);
    expect(value('converged')).toBe('true');
    expect(Number(value('correlations.rho.sigma'))).toBe((fit.correlations as Record<string, Record<string, number>>).rho.sigma);
    // RMSE shown in vol points.
    const shown = document.querySelector('[data-fit="heston"][data-field="rmse_iv"]')!.textContent!;
    expect(Number(shown)).toBeCloseTo(100 * fit.rmse_iv!, 3);
    // The fits are embedded verbatim.
    const embedded = JSON.parse(document.querySelector('#volfit-fits')!.textContent!);
    expect(embedded[0].params).toEqual(fit.params);
  });

  it('is self-contained: no external resource, no script to run', () => {
    expect(html).not.toMatch(/<script(?![^>]*type="application\/json")/);
    expect(html).not.toMatch(/<link[^>]+href=/);
    expect(html).not.toMatch(/(src|href)="https?:/);
  });

  it('lists the fit exclusions and the per-expiry forward and discount', () => {
    const text = document.querySelector('#data')!.textContent!;
    expect(text).toContain('test exclusion');
    const rows = document.querySelectorAll('table.expiries tbody tr');
    expect(rows.length).toBe(4);
    const first = rows[0].querySelectorAll('td');
    expect(Number(first[2].getAttribute('data-value'))).toBe(surface.quotes[0].forward);
    expect(Number(first[2].textContent)).toBeCloseTo(surface.quotes[0].forward, 2);
    expect(Number(first[3].textContent)).toBeCloseTo(surface.quotes[0].discount, 7);
  });

  it("states the Feller condition at the fitted parameters (2 kappa theta - sigma^2)", () => {
    const f = data.constraints!.find((c) => c.name === 'feller')!;
    const p = fit.params;
    expect(f.value).toBeCloseTo(2 * p.kappa * p.theta - p.sigma ** 2, 12);
    const text = document.querySelector('#parameters .constraints')!.textContent!;
    expect(text).toContain(f.value >= 0 ? 'satisfied' : 'violated');
  });

  it('labels synthetic data as synthetic', () => {
    expect(document.querySelector('.source')!.textContent).toContain('SYNTHETIC');
  });
});

describe('report data', () => {
  it('puts the model smile through the model IVs at the quotes (same parameters, independent pricing path)', () => {
    // Curve: 61-point grid, priced and inverted here; residual model IVs: fixture pricing at the
    // quotes. Linear interpolation on the grid (spacing ~ 4 sd / 60) errs by < 1e-4 in vol.
    for (const p of data.points) {
      const c = data.curves.find((x) => x.expiry === p.expiry)!;
      const i = c.k.findIndex((k) => k >= p.k);
      const t = (p.k - c.k[i - 1]) / (c.k[i] - c.k[i - 1]);
      const iv = c.iv[i - 1]! + t * (c.iv[i]! - c.iv[i - 1]!);
      expect(Math.abs(iv - p.modelIv.heston!)).toBeLessThan(1e-4);
    }
  });

  it('inverts bid and ask prices back to the fixture IV spread', () => {
    // The fixture priced bid/ask at market IV -/+ 0.5 vol point: inversion returns them to 1e-8.
    for (const p of data.points) {
      expect(p.bidIv! - p.midIv!).toBeCloseTo(-surface.halfSpread, 8);
      expect(p.askIv! - p.midIv!).toBeCloseTo(surface.halfSpread, 8);
    }
  });
});
