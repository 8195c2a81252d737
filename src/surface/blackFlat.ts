/**
 * "Black, flat per expiry": one Black-76 volatility per expiry, the baseline every smile model
 * has to beat. In the implied-vol objective its weighted least-squares fit is closed form: the
 * vol of an expiry is the weighted mean of that expiry's market IVs, so no optimizer runs.
 *
 * `fitFlatVols` returns the slice-model fit of the 'black' engine (src/engines/registry.ts):
 * one top-level parameter `vol_<expiry>` per expiry (kept from the first version, so older fit
 * files still read), the same vol as `slices[i].params.vol`, and the arbitrage report of the flat
 * slices (no butterfly arbitrage is possible; total variance vol^2 T falling in T is calendar
 * arbitrage). `fitBlackFlat` (src/calibrator/sliceFit.ts) wraps it into calibrate's JSON.
 */
import { black76Price } from '../engines/black/black76.js';
import { impliedVolatility } from '../engines/black/impliedVol.js';
import { arbitrageReport, defaultCheckGrid } from './arbitrage.js';
import { SviCurve } from './surface.js';
import type { SliceModelFit, SliceOutput } from './types.js';

/** What the flat-vol fit reads from a quote (a canonical `Quote` or a report quote has it all). */
export interface FlatVolQuote {
  row: number;
  T: number;
  /** Expiry label; quotes group by it (by T when absent). */
  expiry?: string;
  strike: number;
  isCall: boolean;
  price: number;
  forward: number;
  discount: number;
  iv?: number;
  weight?: number;
}

/** Parameter name of an expiry's vol: `vol_2026-01-16` for ISO expiries, `vol_0.5` for years. */
export function blackParamName(expiry: string): string {
  const iso = /^(\d{4}-\d{2}-\d{2})/.exec(expiry);
  return `vol_${iso ? iso[1] : expiry}`;
}

/** Black-76 present value, or NaN where the inputs do not price (a vol <= 0). */
export function flatVolPrice(q: { forward: number; strike: number; T: number; isCall: boolean; discount: number }, vol: number): number {
  return vol > 0 ? black76Price(q.forward, q.strike, q.T, vol, q.isCall, q.discount) : Number.NaN;
}

function marketIv(q: FlatVolQuote): number | null {
  if (q.iv !== undefined && Number.isFinite(q.iv) && q.iv > 0) return q.iv;
  if (!(q.T > 0 && q.forward > 0 && q.strike > 0)) return null;
  const r = impliedVolatility(q.price, q.forward, q.strike, q.T, q.isCall, q.discount);
  return r.status === 'ok' && r.iv !== null && Number.isFinite(r.iv) && r.iv > 0 ? r.iv : null;
}

export function fitFlatVols(quotes: readonly FlatVolQuote[]): SliceModelFit {
  const excluded: Array<{ row: number; reason: string }> = [];
  const groups = new Map<string, Array<{ q: FlatVolQuote; iv: number; w: number }>>();
  for (const q of quotes) {
    const w = q.weight ?? 1;
    if (!(w > 0) || !Number.isFinite(w)) {
      excluded.push({ row: q.row, reason: `weight ${q.weight} is not positive` });
      continue;
    }
    const iv = marketIv(q);
    if (iv === null) {
      excluded.push({ row: q.row, reason: 'no implied vol (price outside the Black-76 bounds or bad field)' });
      continue;
    }
    const name = blackParamName(q.expiry ?? String(q.T));
    const g = groups.get(name);
    if (g) g.push({ q, iv, w });
    else groups.set(name, [{ q, iv, w }]);
  }
  if (groups.size === 0) throw new RangeError('black fit: no quote with an implied vol');

  // Weights normalised to mean 1 over all used quotes, as the calibrator does, so objectives compare.
  const all = [...groups.values()].flat();
  const meanW = all.reduce((s, x) => s + x.w, 0) / all.length;

  const params: Record<string, number> = {};
  const stderr: Record<string, number | null> = {};
  const residuals: SliceModelFit['residuals'] = [];
  const slices: SliceOutput[] = [];
  let objective = 0;
  for (const [name, g] of [...groups].sort((a, b) => a[1][0].q.T - b[1][0].q.T)) {
    const W = g.reduce((s, x) => s + x.w, 0);
    const vol = g.reduce((s, x) => s + x.w * x.iv, 0) / W;
    params[name] = vol;
    // Sandwich (heteroskedasticity-robust) standard error of a weighted mean; none from one quote.
    stderr[name] = g.length > 1 ? Math.sqrt(g.reduce((s, x) => s + (x.w * (x.iv - vol)) ** 2, 0)) / W : null;
    let sse = 0;
    for (const x of g) {
      residuals.push({ row: x.q.row, market_iv: x.iv, model_iv: vol, strike: x.q.strike, T: x.q.T });
      objective += (x.w / meanW) * (vol - x.iv) ** 2;
      sse += (vol - x.iv) ** 2;
    }
    slices.push({
      T: g[0].q.T,
      forward: g.reduce((s, x) => s + x.w * x.q.forward, 0) / W,
      params: { vol },
      expiry: g[0].q.expiry ?? String(g[0].q.T),
      quotes: g.length,
      rmse_iv: Math.sqrt(sse / g.length),
    });
  }
  residuals.sort((a, b) => a.row - b.row);
  // Flat slices as SVI (b = 0): the surface module's arbitrage report on the quoted k range.
  const ks = all.map((x) => Math.log(x.q.strike / x.q.forward));
  const curves = slices.map((s) => new SviCurve(s.T, { a: s.params.vol ** 2 * s.T, b: 0, rho: 0, m: 0, sigma: 1 }));
  const arbitrage = arbitrageReport(curves, defaultCheckGrid(Math.min(...ks), Math.max(...ks)));
  return {
    params,
    stderr,
    slices,
    residuals,
    excluded,
    arbitrage,
    arbitrageFree: false,
    objective,
    converged: true,
    iterations: 0,
    evaluations: 1,
    route: { name: 'closed-form', reason: 'weighted mean of market IVs per expiry solves the IV least-squares problem' },
    message: 'closed form',
    notes: [],
  };
}
