/**
 * "Black, flat per expiry": one Black-76 volatility per expiry, the baseline every smile model
 * has to beat. In the implied-vol objective its weighted least-squares fit is closed form: the
 * vol of an expiry is the weighted mean of that expiry's market IVs, so no optimizer runs.
 *
 * The result has the calibrator's JSON shape (model 'black', one parameter `vol_<expiry>` per
 * expiry) so the report and `--json` treat it like any other fit.
 */
import { black76, impliedVol } from '../report/black.js';
import type { FitExclusion, FitResidual, FitResult } from '../report/fit.js';
import type { ReportQuote } from '../report/types.js';

/** Parameter name of an expiry's vol: `vol_2026-01-16` for ISO expiries, `vol_0.5` for years. */
export function blackParamName(expiry: string): string {
  const iso = /^(\d{4}-\d{2}-\d{2})/.exec(expiry);
  return `vol_${iso ? iso[1] : expiry}`;
}

export function fitBlackFlat(quotes: readonly ReportQuote[]): FitResult {
  const t0 = performance.now();
  const excluded: FitExclusion[] = [];
  const groups = new Map<string, Array<{ q: ReportQuote; iv: number; w: number }>>();
  for (const q of quotes) {
    const w = q.weight ?? 1;
    if (!(w > 0) || !Number.isFinite(w)) {
      excluded.push({ row: q.row, reason: `weight ${q.weight} is not positive` });
      continue;
    }
    const given = q.iv !== undefined && Number.isFinite(q.iv) && q.iv > 0 ? q.iv : null;
    const iv = given ?? (q.T > 0 && q.forward > 0 && q.strike > 0 ? impliedVol(q.price, q.forward, q.strike, q.T, q.isCall, q.discount) : null);
    if (iv === null) {
      excluded.push({ row: q.row, reason: 'no implied vol (price outside the Black-76 bounds or bad field)' });
      continue;
    }
    const name = blackParamName(q.expiry);
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
  const residuals: FitResidual[] = [];
  let objective = 0;
  let sse = 0;
  for (const [name, g] of [...groups].sort((a, b) => a[1][0].q.T - b[1][0].q.T)) {
    const W = g.reduce((s, x) => s + x.w, 0);
    const vol = g.reduce((s, x) => s + x.w * x.iv, 0) / W;
    params[name] = vol;
    // Sandwich (heteroskedasticity-robust) standard error of a weighted mean; none from one quote.
    stderr[name] = g.length > 1 ? Math.sqrt(g.reduce((s, x) => s + (x.w * (x.iv - vol)) ** 2, 0)) / W : null;
    for (const x of g) {
      const wn = x.w / meanW;
      residuals.push({ row: x.q.row, market_iv: x.iv, model_iv: vol, weight: x.w, strike: x.q.strike, expiry: x.q.T });
      objective += wn * (vol - x.iv) ** 2;
      sse += (vol - x.iv) ** 2;
    }
  }
  residuals.sort((a, b) => a.row - b.row);
  // Price RMSE of the fitted vols, unweighted, in the quotes' currency.
  const volOf = new Map([...groups].flatMap(([name, g]) => g.map((x) => [x.q.row, params[name]] as const)));
  let se = 0;
  for (const x of all) {
    const model = blackModelPrice(x.q, volOf.get(x.q.row)!);
    se += (model - x.q.price) ** 2;
  }
  return {
    model: 'black',
    params,
    stderr,
    // Unweighted, as the calibrator reports it; the objective is the weighted SSE.
    rmse_iv: Math.sqrt(sse / all.length),
    rmse_price: Math.sqrt(se / all.length),
    objective,
    iterations: 0,
    evaluations: 1,
    route: { name: 'closed-form', reason: 'weighted mean of market IVs per expiry solves the IV least-squares problem' },
    converged: true,
    backend: 'cpu',
    seconds: (performance.now() - t0) / 1000,
    quotes: { used: all.length, excluded },
    residuals,
    history: [],
  };
}


function blackModelPrice(q: ReportQuote, vol: number): number {
  return black76(q.forward, q.strike, q.T, vol, q.isCall, q.discount);
}
