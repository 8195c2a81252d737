/**
 * The surface models (svi, ssvi, essvi) as slice models of the engine registry: `fitSurface`'s
 * result in the shape every slice engine returns (SliceModelFit, which calibrate turns into its
 * JSON), and the way back, a fit's JSON slices -> an evaluable VolSurface (the report prices a
 * slice model as Black-76 at the surface's implied vol).
 *
 * JSON per model (`slices[i].params`, top-level `params`):
 * - svi: raw {a, b, rho, m, sigma} per slice; no global parameters.
 * - ssvi: {theta} per slice; global {rho, eta, gamma} (power-law phi); each slice also as raw SVI (`raw`).
 * - essvi: {theta, rho, psi} per slice (psi = theta phi); no global parameters; `raw` per slice.
 */
import { fitSurface, type SurfaceFitOptions } from './fit.js';
import { EssviSurface, SsviSurface, SviSurface, type VolSurface } from './surface.js';
import type { SviRaw } from './svi.js';
import type { SliceModelFit, SliceOutput, SurfaceModel, SurfaceQuote } from './types.js';

export const SURFACE_MODELS: readonly SurfaceModel[] = ['svi', 'ssvi', 'essvi'];

export function isSurfaceModel(name: string): name is SurfaceModel {
  return (SURFACE_MODELS as readonly string[]).includes(name);
}

/** fitSurface as a slice-model fit (see SliceModelFit). */
export function fitSurfaceModel(quotes: readonly SurfaceQuote[], opts: SurfaceFitOptions): SliceModelFit {
  const { result } = fitSurface(quotes, opts);
  const model = opts.model;
  const slices: SliceOutput[] = result.slices.map((s) => {
    const raw = { ...s.params };
    const params: Record<string, number> =
      model === 'svi'
        ? { a: raw.a, b: raw.b, rho: raw.rho, m: raw.m, sigma: raw.sigma }
        : model === 'ssvi'
          ? { theta: s.ssvi!.theta }
          : { theta: s.ssvi!.theta, rho: s.ssvi!.rho, psi: s.ssvi!.psi };
    return {
      T: s.T,
      forward: s.forward,
      params,
      expiry: s.expiry,
      quotes: s.quotes,
      ...(model === 'svi' ? {} : { raw }),
      rmse_iv: s.rmse_iv,
      ...(s.fallback ? { fallback: s.fallback } : {}),
      ...(s.warnings.length ? { warnings: s.warnings } : {}),
    };
  });
  const params = { ...(result.global ?? {}) };
  const n = result.residuals.length;
  const how =
    model === 'svi'
      ? 'raw SVI per expiry: quasi-explicit (m, sigma) grid, Nelder-Mead from the best cells, LM polish on exact IV residuals' +
        (result.arbitrage_free_requested ? '; joint arbitrage-free polish where the slices had arbitrage' : '')
      : model === 'ssvi'
        ? `power-law SSVI by LM from 24 (rho, eta, gamma) starts${result.arbitrage_free_requested ? ', eta inside the no-butterfly bound' : ''}`
        : `eSSVI by LM from the SSVI fit${result.arbitrage_free_requested ? ', slices inside the no-butterfly bounds, calendar penalty' : ''}`;
  return {
    params,
    stderr: Object.fromEntries(Object.keys(params).map((k) => [k, null])),
    slices,
    residuals: result.residuals.map((r) => ({ row: r.row, market_iv: r.market_iv, model_iv: r.model_iv, strike: r.strike, T: r.T })),
    excluded: result.excluded.map((e) => ({ row: e.row, reason: e.detail ? `${e.reason}: ${e.detail}` : e.reason })),
    arbitrage: result.arbitrage,
    arbitrageFree: result.arbitrage_free_requested,
    objective: result.rmse_iv_weighted ** 2 * n,
    converged: result.converged ?? true,
    iterations: result.iterations ?? 0,
    evaluations: 0,
    route: { name: 'surface', reason: how },
    message: result.arbitrage.free
      ? 'fitted; no butterfly, calendar or Lee violation on the check grid'
      : `fitted; arbitrage on the check grid: ${result.arbitrage.butterfly.length} butterfly, ${result.arbitrage.calendar.length} calendar, ${result.arbitrage.lee.length} Lee`,
    notes: result.notes,
  };
}

function num(p: Record<string, unknown> | undefined, name: string, where: string): number {
  const v = p?.[name];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${where}: ${name} is not a finite number`);
  return v;
}

/**
 * The surface of a fit's JSON: `slices` (T and params per expiry) and the global `params`.
 * Throws a RangeError naming the slice and parameter when one is missing.
 */
export function surfaceFromSlices(
  model: SurfaceModel,
  params: Record<string, number>,
  slices: ReadonlyArray<{ T: number; params: Record<string, number> }>,
): VolSurface {
  if (slices.length === 0) throw new RangeError(`${model}: the fit has no slices`);
  const sorted = [...slices].sort((a, b) => a.T - b.T);
  const at = (i: number) => `slices[${i}]`;
  if (model === 'svi') {
    return new SviSurface(
      sorted.map((s, i): { T: number; params: SviRaw } => ({
        T: s.T,
        params: { a: num(s.params, 'a', at(i)), b: num(s.params, 'b', at(i)), rho: num(s.params, 'rho', at(i)), m: num(s.params, 'm', at(i)), sigma: num(s.params, 'sigma', at(i)) },
      })),
    );
  }
  if (model === 'ssvi') {
    return new SsviSurface(
      sorted.map((s) => s.T),
      sorted.map((s, i) => num(s.params, 'theta', at(i))),
      num(params, 'rho', 'params'),
      num(params, 'eta', 'params'),
      num(params, 'gamma', 'params'),
    );
  }
  return new EssviSurface(sorted.map((s, i) => ({ T: s.T, theta: num(s.params, 'theta', at(i)), rho: num(s.params, 'rho', at(i)), psi: num(s.params, 'psi', at(i)) })));
}
