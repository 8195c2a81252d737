/**
 * SYNTHETIC test data, not market data: an option surface priced from known Heston parameters
 * with our f64 COS engine, bid/ask a stated IV spread around each price, plus a fit JSON in the
 * calibrator's shape whose numbers are computed (model IVs of slightly wrong parameters), so
 * the page has non-zero residuals to draw. Drawn afresh each run from the test seed.
 */
import { writeCanonicalCsv, type Quote } from '../../src/market/canonical.js';
import { cosPrices } from '../../src/engines/cos/cpu.js';
import { heston } from '../../src/models/heston.js';
import { paramVector } from '../../src/models/types.js';
import { quoteSetOf } from '../../src/engines/pricer.js';
import { black76, impliedVol } from '../../src/report/black.js';
import type { FitResult } from '../../src/report/fit.js';
import { uniform } from '../helpers/random.js';

export const SYNTHETIC_SOURCE = 'SYNTHETIC surface (Heston, known parameters, priced by volfit COS f64): not market data';

export interface SyntheticSurface {
  truth: Record<string, number>;
  quotes: Quote[];
  csv: string;
  /** Half bid/ask spread in vol. */
  halfSpread: number;
}


export function syntheticSurface(r: () => number, expiries = [0.1, 0.25, 0.5, 1], strikesPerExpiry = 9): SyntheticSurface {
  const truth = {
    v0: uniform(r, 0.02, 0.09),
    kappa: uniform(r, 1, 4),
    theta: uniform(r, 0.03, 0.08),
    sigma: uniform(r, 0.3, 0.8),
    rho: uniform(r, -0.8, -0.3),
  };
  const rate = 0.02;
  const spot = 100;
  const halfSpread = 0.005;
  const quotes: Quote[] = [];
  let row = 1;
  for (const T of expiries) {
    const F = spot * Math.exp(rate * T);
    const sd = Math.sqrt(truth.theta * T);
    for (let j = 0; j < strikesPerExpiry; j++) {
      const k = -2 * sd + (4 * sd * j) / (strikesPerExpiry - 1);
      const strike = Math.round(F * Math.exp(k) * 100) / 100;
      quotes.push({
        row: row++,
        T,
        expiry: String(T),
        strike,
        isCall: strike >= F,
        price: Number.NaN,
        forward: F,
        discount: Math.exp(-rate * T),
        rate,
        div: 0,
        spot,
      });
    }
  }
  const prices = cosPrices(heston, paramVector(heston, truth), quoteSetOf(quotes));
  quotes.forEach((q, i) => {
    q.price = prices[i];
    const iv = impliedVol(q.price, q.forward, q.strike, q.T, q.isCall, q.discount)!;
    q.bid = black76(q.forward, q.strike, q.T, iv - halfSpread, q.isCall, q.discount);
    q.ask = black76(q.forward, q.strike, q.T, iv + halfSpread, q.isCall, q.discount);
  });
  return { truth, quotes, csv: writeCanonicalCsv(quotes), halfSpread };
}

/**
 * A Heston "fit" at given parameters: residuals are exact model IVs of those parameters at
 * every quote. Standard errors, correlations and history are made-up inputs (the page must show
 * whatever the fit says), marked as such by the message.
 */
export function hestonFitAt(params: Record<string, number>, quotes: readonly Quote[]): FitResult {
  const prices = cosPrices(heston, paramVector(heston, params), quoteSetOf(quotes));
  const residuals = quotes.map((q, i) => ({
    row: q.row,
    market_iv: impliedVol(q.price, q.forward, q.strike, q.T, q.isCall, q.discount),
    model_iv: impliedVol(prices[i], q.forward, q.strike, q.T, q.isCall, q.discount),
    weight: 1 + (i % 3),
  }));
  const d = residuals.map((x) => x.model_iv! - x.market_iv!);
  const names = Object.keys(params);
  return {
    model: 'heston',
    params: { ...params },
    stderr: Object.fromEntries(names.map((n, i) => [n, 0.001 * (i + 1)])),
    rmse_iv: Math.sqrt(d.reduce((s, x) => s + x * x, 0) / d.length),
    rmse_price: Math.sqrt(quotes.reduce((s, q, i) => s + (prices[i] - q.price) ** 2, 0) / quotes.length),
    objective: residuals.reduce((s, x, i) => s + x.weight * d[i] ** 2, 0),
    iterations: 3,
    evaluations: 24,
    route: { name: 'lm', reason: 'test fixture' },
    converged: true,
    backend: 'cpu',
    seconds: 0.123,
    quotes: { used: quotes.length, excluded: [{ row: 999, reason: 'test exclusion' }] },
    residuals,
    correlations: Object.fromEntries(names.map((a, i) => [a, Object.fromEntries(names.map((b, j) => [b, i === j ? 1 : -0.1 * ((i + j) % 5)]))])),
    history: [{ stage: 'lm', objective: 1 }, { stage: 'lm', objective: 0.1 }, { stage: 'polish', objective: 0.01 }],
    message: 'SYNTHETIC fixture: stderr, correlations and history are test inputs',
  };
}
