/**
 * Test fixtures for the calibrator: a CPU SurfacePricer over the COS f64 engine, and surfaces
 * generated from known parameters (out-of-the-money side, expiries and strikes as QuantLib's
 * timing setup in REFERENCE.md: 30-730 days, strikes +-2.5 standard deviations).
 */
import type { Model } from '../../src/models/types.js';
import { quoteSetOf, type QuoteSet, type SurfacePricer } from '../../src/engines/pricer.js';
import { cosPricesAndGradient, cosPricesBatch } from '../../src/engines/cos/cpu.js';
import { hasFourierExtras } from '../../src/models/complex.js';
import { groupByExpiry } from '../../src/engines/cos/expiries.js';
import { calibrate } from '../../src/calibrator/calibrate.js';
import type { CalibrationQuote } from '../../src/calibrator/quotes.js';

/**
 * As createCosPricer on the CPU; `gradient: false` leaves out priceAndGradient (LM then uses
 * finite differences); `heartbeat` as CosPricerOptions.heartbeat (the calibrator's PricerHooks).
 */
export function cosCpuPricer(model: Model, quotes: QuoteSet, opts: { gradient?: boolean; heartbeat?: () => void } = {}): SurfacePricer {
  const groups = groupByExpiry(quotes);
  const pricer: SurfacePricer = {
    model,
    quotes,
    async priceBatch(params, n) {
      return { prices: cosPricesBatch(model, params, n, quotes, undefined, groups, opts.heartbeat), backend: 'cpu' };
    },
    gpuBytes: () => 0,
    dispose() {},
  };
  if ((opts.gradient ?? true) && hasFourierExtras(model)) {
    pricer.priceAndGradient = async (params) => ({ ...cosPricesAndGradient(model, params, quotes, undefined, groups, opts.heartbeat), backend: 'cpu' });
  }
  return pricer;
}

export interface SurfaceSpec {
  spot?: number;
  rate?: number;
  expiries: number;
  strikesPerExpiry: number;
  /** ATM vol used to place strikes (+-2.5 sd). */
  atmVol: number;
}

/** Quote skeleton (no prices) of an OTM surface. */
export function surfaceGrid(spec: SurfaceSpec): CalibrationQuote[] {
  const S = spec.spot ?? 100;
  const r = spec.rate ?? 0.02;
  const out: CalibrationQuote[] = [];
  let row = 1;
  for (let e = 0; e < spec.expiries; e++) {
    const days = spec.expiries === 1 ? 365 : 30 + ((730 - 30) * e) / (spec.expiries - 1);
    const T = days / 365;
    const F = S * Math.exp(r * T);
    const D = Math.exp(-r * T);
    const sd = spec.atmVol * Math.sqrt(T);
    for (let k = 0; k < spec.strikesPerExpiry; k++) {
      const x = spec.strikesPerExpiry === 1 ? 0 : -2.5 + (5 * k) / (spec.strikesPerExpiry - 1);
      const K = F * Math.exp(x * sd);
      out.push({ row: row++, T, strike: K, isCall: K >= F, price: NaN, forward: F, discount: D });
    }
  }
  return out;
}

/** Fills prices from a model at `params` with the given pricer factory. */
export async function priceGrid(
  model: Model,
  params: Float64Array,
  grid: CalibrationQuote[],
  pricerFor: (model: Model, q: QuoteSet) => SurfacePricer = cosCpuPricer,
): Promise<CalibrationQuote[]> {
  const set = quoteSetOf(grid);
  const { prices } = await pricerFor(model, set).priceBatch(params, 1);
  return grid.map((q, i) => ({ ...q, price: prices[i] }));
}

/**
 * The QuantLib DAX 2002-07-05 surface as QuantLib's testDAXCalibration sets it up (see the data's
 * SOURCE.md): maturities are the helpers' whole weeks (all land on TARGET business days, so
 * T = 7 w / 365, Actual/365F), zero rates interpolated linearly in rate, no dividends, OTM side.
 */
import { readFileSync } from 'node:fs';

import { fileURLToPath } from 'node:url';

export const DAX_DIR = fileURLToPath(new URL('../../data/dax-2002-07-05-quantlib-sepp', import.meta.url));

export function daxQuotes(): CalibrationQuote[] {
  const ivRows = readFileSync(`${DAX_DIR}/dax_2002-07-05_implied_vols.csv`, 'utf8').trim().split('\n').slice(1);
  const zr = readFileSync(`${DAX_DIR}/dax_2002-07-05_zero_rates.csv`, 'utf8').trim().split('\n').slice(1)
    .map((l) => l.split(',')).map((c) => ({ t: Number(c[1]) / 365, r: Number(c[2]) }));
  const zero = (t: number) => {
    if (t <= zr[0].t) return zr[0].r;
    for (let i = 1; i < zr.length; i++) {
      if (t <= zr[i].t) return zr[i - 1].r + ((zr[i].r - zr[i - 1].r) * (t - zr[i - 1].t)) / (zr[i].t - zr[i - 1].t);
    }
    // QuantLib's ZeroCurve extrapolates the last segment linearly when extrapolation is enabled.
    const a = zr[zr.length - 2], b = zr[zr.length - 1];
    return b.r + ((b.r - a.r) * (t - b.t)) / (b.t - a.t);
  };
  return ivRows.map((line, i) => {
    const c = line.split(',');
    const spot = Number(c[1]);
    const K = Number(c[2]);
    const T = (7 * Number(c[4])) / 365;
    const D = Math.exp(-zero(T) * T);
    const F = spot / D;
    return { row: i + 1, T, strike: K, isCall: K >= F, price: NaN, forward: F, discount: D, iv: Number(c[5]) };
  });
}

/** The DAX fit's SSE as QuantLib defines it: sum over all quotes of (100 (model IV - market IV))^2. */
export function daxSse(residuals: Array<{ market_iv: number; model_iv: number | null }>): number {
  return residuals.reduce((s, r) => s + (100 * ((r.model_iv ?? Infinity) - r.market_iv)) ** 2, 0);
}

/** Re-evaluates params with the f64 CPU engine (to judge a WebGPU fit by exact prices). */
export async function cpuResiduals(model: Model, quotes: CalibrationQuote[], params: Record<string, number>) {
  // A fit from the given point with no iterations: LM stops at once (maxIterations 0).
  return calibrate(quotes, { model, backend: 'cpu', createPricer: (m, q) => cosCpuPricer(m, q), start: params, route: 'lm', lm: { maxIterations: 0 }, polish: false });
}
