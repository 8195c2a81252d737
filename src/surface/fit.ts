/**
 * fitSurface(): quotes in, per-slice parameters (increasing T), an arbitrage report and an
 * evaluable surface out. The entry point `volfit calibrate --model svi|ssvi|essvi` will call.
 *
 *   const { result, surface } = fitSurface(normalize(text).quotes, { model: 'essvi' });
 *   result.slices[i].params        // raw SVI of each expiry
 *   result.arbitrage.free          // no butterfly / calendar / Lee violation on the check grid
 *   localVariance(surface, k, T)   // Dupire (dupire.ts)
 *
 * Models:
 * - 'svi': raw SVI per expiry (quasi-explicit grid + Nelder-Mead + LM, sviFit.ts). With
 *   `arbitrageFree` the slices are polished in increasing T with butterfly and calendar
 *   penalties, starting also from the arbitrage-free eSSVI slices (Gatheral & Jacquier 2014, 5.2:
 *   SSVI first, then SVI from it), so the penalised fit starts from an admissible point.
 * - 'ssvi': global power-law SSVI (ssviFit.ts).
 * - 'essvi': SSVI, then per-slice rho and psi (ssviFit.ts).
 * `arbitrageFree` defaults to true for ssvi and essvi, false for svi.
 */
import { arbitrageReport, defaultCheckGrid, type CheckGrid } from './arbitrage.js';
import { prepareSlices, type PrepareOptions } from './slices.js';
import { ssviToRaw } from './ssvi.js';
import { essviStartFromSsvi, fitEssvi, fitSsvi, type SsviStart } from './ssviFit.js';
import { EssviSurface, SsviCurve, SsviSurface, SviSurface, type SliceCurve, type VolSurface } from './surface.js';
import { fitSviSlices, type SviFitOptions } from './sviFit.js';
import { SurfaceInputError, type SliceResult, type SurfaceFitResult, type SurfaceModel, type SurfaceQuote, type SurfaceResidual } from './types.js';

export interface SurfaceFitOptions extends PrepareOptions {
  model: SurfaceModel;
  /** Ask for an arbitrage-free fit (default: true for ssvi/essvi, false for svi). */
  arbitrageFree?: boolean;
  /** k grid of the arbitrage checks (default: the quoted k range widened by half its width, at least [-1, 1], 1001 points). */
  checkGrid?: CheckGrid;
  /** SVI grid and starts. */
  svi?: Pick<SviFitOptions, 'grid' | 'starts' | 'gridValues'>;
  /** ssvi: a previous fit's rho, eta, gamma as one more start (fitSsvi). */
  ssviStart?: SsviStart;
}

export interface SurfaceFit {
  result: SurfaceFitResult;
  surface: VolSurface;
}

const MODELS: readonly SurfaceModel[] = ['svi', 'ssvi', 'essvi'];

export function fitSurface(quotes: readonly SurfaceQuote[], opts: SurfaceFitOptions): SurfaceFit {
  const t0 = performance.now();
  if (!MODELS.includes(opts.model)) throw new SurfaceInputError(`unknown surface model '${opts.model}'; expected ${MODELS.join(', ')}`);
  const arbFree = opts.arbitrageFree ?? opts.model !== 'svi';
  const { slices, excluded } = prepareSlices(quotes, opts);
  const kMin = Math.min(...slices.map((s) => s.k[0]));
  const kMax = Math.max(...slices.map((s) => s.k[s.k.length - 1]));
  const grid = opts.checkGrid ?? defaultCheckGrid(kMin, kMax);
  const notes: string[] = [];
  let curves: SliceCurve[];
  let surface: VolSurface;
  let global: Record<string, number> | undefined;
  const fallbacks: Array<SliceResult['fallback']> = slices.map(() => undefined);
  // LM of the global fits (ssvi, essvi); the SVI slices are multi-start fits without a count.
  let iterations = 0;
  let converged = true;

  const essviOf = () => {
    const ss = fitSsvi(slices, { arbitrageFree: arbFree, checkGrid: grid });
    const es = fitEssvi(slices, essviStartFromSsvi(ss), { arbitrageFree: arbFree, checkGrid: grid });
    return { ss, es };
  };

  if (opts.model === 'svi') {
    const admissibleStarts = () => {
      const { es } = essviOf();
      notes.push('svi arbitrage-free: the unconstrained slices had arbitrage; joint penalised polish from them and from the arbitrage-free eSSVI slices, the better admissible result kept');
      return slices.map((_, i) => ssviToRaw({ theta: es.theta[i], rho: es.rho[i], psi: es.psi[i] }));
    };
    const fits = fitSviSlices(slices, { ...opts.svi, arbitrageFree: arbFree, checkGrid: grid, admissibleStarts });
    fits.forEach((f, i) => (fallbacks[i] = f.fallback));
    const s = new SviSurface(slices.map((sl, i) => ({ T: sl.T, params: fits[i].params })));
    curves = s.curves;
    surface = s;
    notes.push('between expiries w is linear in T at fixed k (linear in total variance); before the first expiry w = (T/T_1) w_1, after the last w = (T/T_N) w_N');
  } else if (opts.model === 'ssvi') {
    const ss = fitSsvi(slices, { arbitrageFree: arbFree, checkGrid: grid, ...(opts.ssviStart ? { start: opts.ssviStart } : {}) });
    const s = new SsviSurface(slices.map((x) => x.T), ss.theta, ss.rho, ss.eta, ss.gamma);
    curves = s.curves;
    surface = s;
    global = { rho: ss.rho, eta: ss.eta, gamma: ss.gamma };
    iterations = ss.iterations;
    converged = ss.converged;
    notes.push(`ssvi: power-law phi, LM ${ss.converged ? 'converged' : 'stopped'} after ${ss.iterations} iterations; theta(T) monotone cubic through (0, 0) and the fitted theta_i`);
  } else {
    const { ss, es } = essviOf();
    iterations = ss.iterations + es.iterations;
    converged = es.converged;
    const s = new EssviSurface(slices.map((x, i) => ({ T: x.T, theta: es.theta[i], rho: es.rho[i], psi: es.psi[i] })));
    curves = s.curves;
    surface = s;
    notes.push(`essvi: LM ${es.converged ? 'converged' : 'stopped'} after ${es.iterations} iterations, started from the SSVI fit`);
  }

  const arbitrage = arbitrageReport(curves, grid);
  const residuals: SurfaceResidual[] = [];
  let se = 0, swe = 0, sw = 0;
  const sliceResults: SliceResult[] = slices.map((s, i) => {
    const c = curves[i];
    let sse = 0;
    for (let q = 0; q < s.k.length; q++) {
      const model = Math.sqrt(Math.max(0, c.w(s.k[q])) / s.T);
      const e = model - s.iv[q];
      sse += e * e;
      se += e * e;
      swe += s.weight[q] * e * e;
      sw += s.weight[q];
      residuals.push({ row: s.rows[q], T: s.T, strike: s.strike[q], k: s.k[q], market_iv: s.iv[q], model_iv: model, weight: s.weight[q] });
    }
    const r: SliceResult = {
      T: s.T,
      expiry: s.expiry,
      forward: s.forward,
      quotes: s.k.length,
      params: c.raw(),
      rmse_iv: Math.sqrt(sse / s.k.length),
      warnings: [...s.warnings],
    };
    if (c instanceof SsviCurve) r.ssvi = { theta: c.theta, rho: c.rho, phi: c.psi / c.theta, psi: c.psi };
    if (fallbacks[i]) {
      r.fallback = fallbacks[i];
      r.warnings.push(fallbacks[i] === 'flat' ? `${s.k.length} quote(s): flat smile (b = 0)` : `${s.k.length} quotes: reduced SVI (m and sigma fixed)`);
    }
    return r;
  });
  const nq = residuals.length;
  const result: SurfaceFitResult = {
    model: opts.model,
    slices: sliceResults,
    ...(global ? { global } : {}),
    rmse_iv: Math.sqrt(se / nq),
    rmse_iv_weighted: Math.sqrt(swe / sw),
    arbitrage,
    arbitrage_free_requested: arbFree,
    iterations,
    converged,
    residuals,
    excluded,
    seconds: (performance.now() - t0) / 1000,
    notes,
  };
  return { result, surface };
}
