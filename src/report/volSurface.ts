/**
 * The report's view of a fitted slice model (black, svi, ssvi, essvi) as a volatility surface:
 * total variance w(k) per expiry, Gatheral's density factor g(k) (butterfly arbitrage where it is
 * negative), the fit's arbitrage violations, and Dupire local vol on a (k, T) grid with the cells
 * where it does not exist (arbitrage) marked. The surface comes from the model's slice engine in
 * the registry (src/engines/registry.ts), built from the fit's JSON; everything is f64 on the CPU.
 */
import { defaultEngine, type ExpiryRef } from '../engines/registry.js';
import { getModel } from '../models/index.js';
import { isSliceModel } from '../models/types.js';
import { arbitrageReport, densityG } from '../surface/arbitrage.js';
import { localVol } from '../surface/dupire.js';
import type { VolSurface } from '../surface/surface.js';
import { LocalVolError } from '../surface/types.js';
import type { FitResult } from './fit.js';
import type { ExpiryInfo, MarketPoint, SurfaceSection } from './types.js';

const sameT = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, b);

/** Points per expiry curve, and the local-vol grid (k columns x T rows). */
const CURVE_POINTS = 161;
const LV_K = 41;
const LV_T = 24;

/**
 * The surface section of one fit, or null when the fit is not a slice model volfit can evaluate
 * (`reason` then says why, for the page's notes).
 */
export function surfaceSection(
  fit: FitResult,
  expiries: readonly ExpiryInfo[],
  points: readonly MarketPoint[],
): { section: SurfaceSection } | { reason: string } | null {
  let model;
  try {
    model = getModel(fit.model);
  } catch {
    return null;
  }
  if (!isSliceModel(model)) return null;
  let surface: VolSurface;
  try {
    const engine = defaultEngine(model, 'report');
    if (engine.kind !== 'slice') return null;
    const refs: ExpiryRef[] = expiries.map((e) => ({ expiry: e.expiry, T: e.T }));
    surface = engine.surface(model, { params: fit.params, slices: fit.slices }, refs);
  } catch (e) {
    return { reason: `${fit.model}: no surface plots (${(e as Error).message})` };
  }
  const label = (T: number) => expiries.find((e) => sameT(e.T, T))?.expiry ?? `T=${T.toFixed(4)}`;

  // w and g on the fit's arbitrage grid (where the violations were looked for), else the quotes' k range widened.
  const used = points.filter((p) => Number.isFinite(p.k)).map((p) => p.k);
  const kLo = used.length ? Math.min(...used) : -0.5;
  const kHi = used.length ? Math.max(...used) : 0.5;
  const grid = fit.arbitrage?.grid ?? { k_min: Math.min(-1, kLo - 0.5 * (kHi - kLo)), k_max: Math.max(1, kHi + 0.5 * (kHi - kLo)), points: 1001 };
  const ks = Array.from({ length: CURVE_POINTS }, (_, i) => grid.k_min + ((grid.k_max - grid.k_min) * i) / (CURVE_POINTS - 1));
  const curves: SurfaceSection['curves'] = [];
  for (const c of surface.curves) {
    const expiry = label(c.T);
    for (const k of ks) {
      const d = c.derivs(k);
      const g = d.w > 0 ? densityG(k, d.w, d.wk, d.wkk) : null;
      curves.push({ expiry, T: c.T, k, w: d.w, g: g !== null && Number.isFinite(g) ? g : null });
    }
  }

  // The fit's own arbitrage report (what `calibrate` said); recomputed on its grid if the file has none.
  const arb = fit.arbitrage ?? arbitrageReport(surface.curves, { kMin: grid.k_min, kMax: grid.k_max, points: grid.points });
  const curveAt = (T: number) => surface.curves.find((c) => sameT(c.T, T));
  const butterfly = arb.butterfly.flatMap((b) => {
    const c = curveAt(b.T);
    return c ? [{ expiry: label(b.T), T: b.T, k: b.k, w: c.w(b.k), g: b.g, k_from: b.k_from ?? b.k, k_to: b.k_to ?? b.k }] : [];
  });
  const calendar = arb.calendar.flatMap((v) => {
    const c = curveAt(v.T2);
    return c ? [{ expiry: label(v.T2), T1: v.T1, T2: v.T2, k: v.k, w: c.w(v.k), dw: v.dw ?? null, k_from: v.k_from ?? v.k, k_to: v.k_to ?? v.k }] : [];
  });

  // Dupire local vol on the quoted k range x T from the first to the last expiry (log-spaced).
  const Ts = surface.expiries;
  const t0 = Ts.length > 1 ? Ts[0] : 0.5 * Ts[0];
  const t1 = Ts.length > 1 ? Ts[Ts.length - 1] : 1.5 * Ts[0];
  const lk = Array.from({ length: LV_K }, (_, i) => kLo + ((kHi - kLo) * i) / (LV_K - 1));
  const dk = (kHi - kLo) / (LV_K - 1) || 0.01;
  const lnT = Array.from({ length: LV_T }, (_, j) => Math.log(t0) + ((Math.log(t1) - Math.log(t0)) * j) / (LV_T - 1));
  const dln = (Math.log(t1) - Math.log(t0)) / (LV_T - 1) || 0.1;
  const localVolCells: SurfaceSection['localVol'] = [];
  let undefinedCells = 0;
  for (const l of lnT) {
    const T = Math.exp(l);
    for (const k of lk) {
      let vol: number | null = null;
      let reason: 'butterfly' | 'calendar' | undefined;
      try {
        vol = localVol(surface, k, T);
        if (!Number.isFinite(vol)) vol = null;
      } catch (e) {
        if (!(e instanceof LocalVolError)) throw e;
        reason = e.reason;
        undefinedCells++;
      }
      localVolCells.push({ k, T, k1: k - dk / 2, k2: k + dk / 2, T1: Math.exp(l - dln / 2), T2: Math.exp(l + dln / 2), vol, ...(reason ? { reason } : {}) });
    }
  }
  return {
    section: {
      model: fit.model,
      expiries: surface.curves.map((c) => label(c.T)),
      curves,
      free: arb.free,
      butterfly,
      calendar,
      localVol: localVolCells,
      localVolUndefined: undefinedCells,
      method:
        `Total variance w(k) = IV^2 T of each fitted slice and Gatheral's density factor g(k) (butterfly arbitrage where g < 0) on k in [${grid.k_min.toFixed(2)}, ${grid.k_max.toFixed(2)}]; ` +
        `red marks: the fit's arbitrage violations (worst point of each run). Dupire local vol sigma_loc^2 = (dw/dT) / g on ${LV_K} x ${LV_T} points (quoted k range, T log-spaced over the expiries); ` +
        `red cells: no local vol there (g <= 0 or dw/dT < 0).`,
    },
  };
}
