/**
 * The daily series the change-point detector watches, from a day's market quotes (model-free) and
 * its fits:
 * - atm_30d: ATM implied vol at 30 days (per expiry: IV linear in ln(K/F) between the two quotes
 *   around the forward; across expiries: ATM total variance linear in T, flat outside);
 * - term_slope: ATM vol at 90 days minus ATM vol at 14 days;
 * - skew_30d: slope of IV against ln(K/F)/sqrt(T) near the money (|ln(K/F)|/sqrt(T) <= 0.5), per
 *   expiry by least squares, linear in T to 30 days;
 * - rmse_<model>: the reference model's IV RMSE;
 * - <model>.<param>: the reference model's parameters in units of their posterior standard error on
 *   the first day of the backtest that gave one (so a move of 1 is one standard error).
 */
import type { SeriesSpec } from './bocpd.js';
import type { DayQuote } from './input.js';

interface ExpiryPoint {
  T: number;
  atm: number;
  skew: number | null;
}

function expiryPoints(quotes: readonly DayQuote[]): ExpiryPoint[] {
  const byT = new Map<number, DayQuote[]>();
  for (const q of quotes) {
    const list = byT.get(q.T) ?? [];
    list.push(q);
    byT.set(q.T, list);
  }
  const out: ExpiryPoint[] = [];
  for (const [T, qs] of [...byT.entries()].sort((a, b) => a[0] - b[0])) {
    const pts = qs.map((q) => ({ k: Math.log(q.strike / q.forward), iv: q.iv })).sort((a, b) => a.k - b.k);
    const hi = pts.findIndex((p) => p.k >= 0);
    if (hi <= 0) continue;
    const a = pts[hi - 1];
    const b = pts[hi];
    const atm = b.k === a.k ? (a.iv + b.iv) / 2 : a.iv + ((b.iv - a.iv) * (0 - a.k)) / (b.k - a.k);
    const near = pts.map((p) => ({ x: p.k / Math.sqrt(T), y: p.iv })).filter((p) => Math.abs(p.x) <= 0.5);
    let skew: number | null = null;
    if (near.length >= 3) {
      const mx = near.reduce((s, p) => s + p.x, 0) / near.length;
      const my = near.reduce((s, p) => s + p.y, 0) / near.length;
      const sxx = near.reduce((s, p) => s + (p.x - mx) ** 2, 0);
      if (sxx > 0) skew = near.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx;
    }
    out.push({ T, atm, skew });
  }
  return out;
}

function atmAt(points: readonly ExpiryPoint[], T: number): number | null {
  if (points.length === 0) return null;
  if (T <= points[0].T) return points[0].atm;
  const last = points[points.length - 1];
  if (T >= last.T) return last.atm;
  const i = points.findIndex((p) => p.T >= T);
  const a = points[i - 1];
  const b = points[i];
  const w = a.atm * a.atm * a.T + ((b.atm * b.atm * b.T - a.atm * a.atm * a.T) * (T - a.T)) / (b.T - a.T);
  return Math.sqrt(Math.max(w, 0) / T);
}

function skewAt(points: readonly ExpiryPoint[], T: number): number | null {
  const p = points.filter((e): e is ExpiryPoint & { skew: number } => e.skew !== null);
  if (p.length === 0) return null;
  if (T <= p[0].T) return p[0].skew;
  if (T >= p[p.length - 1].T) return p[p.length - 1].skew;
  const i = p.findIndex((e) => e.T >= T);
  return p[i - 1].skew + ((p[i].skew - p[i - 1].skew) * (T - p[i - 1].T)) / (p[i].T - p[i - 1].T);
}

const Y = 365;

/** Model-free series of a day's quotes. */
export function marketSeries(quotes: readonly DayQuote[]): Record<string, number | null> {
  const pts = expiryPoints(quotes);
  const a14 = atmAt(pts, 14 / Y);
  const a90 = atmAt(pts, 90 / Y);
  return {
    atm_30d: atmAt(pts, 30 / Y),
    term_slope: a14 !== null && a90 !== null ? a90 - a14 : null,
    skew_30d: skewAt(pts, 30 / Y),
  };
}

/** Parameters of the reference model the detector watches (kappa and sigma wander too freely on crypto surfaces to be read alone). */
export const WATCHED_PARAMS: Record<string, readonly string[]> = {
  heston: ['v0', 'theta', 'rho'],
  bates: ['v0', 'theta', 'rho'],
  merton: ['vol', 'lambda'],
};

/** Series specs for a reference model (null: market series only). */
export function seriesSpecs(reference: string | null): SeriesSpec[] {
  const specs: SeriesSpec[] = [
    { name: 'atm_30d', scale: 0.02 },
    { name: 'term_slope', scale: 0.02 },
    { name: 'skew_30d', scale: 0.02 },
  ];
  if (reference) {
    specs.push({ name: `rmse_${reference}`, scale: 0.005 });
    // In standard errors: a regime's day-to-day wander of several of them is ordinary (warm fits of weakly identified parameters move).
    for (const p of WATCHED_PARAMS[reference] ?? []) specs.push({ name: `${reference}.${p}`, scale: 5 });
  }
  return specs;
}
