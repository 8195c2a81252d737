/**
 * Static-arbitrage checks of a fitted surface, on a dense k grid:
 *
 * - butterfly: Gatheral's density factor (GJ 2014, Lemma 2.2)
 *     g(k) = (1 - k w'/(2 w))^2 - (w'^2 / 4) (1/w + 1/4) + w''/2
 *   must be >= 0 (the risk-neutral density is g(k)/sqrt(2 pi w) exp(-d_-^2/2)); also w > 0;
 * - calendar: w(k, T_{i+1}) >= w(k, T_i) at every grid k, for consecutive expiries;
 * - Lee's moment bound: the wing slopes of w are at most 2 (SVI: b (1 + |rho|) <= 2).
 *
 * Violations are reported per run of consecutive grid points, with the worst point: `{T, k, g}`
 * (plus the run's k_from, k_to) and `{T1, T2, k, dw}`. Tolerances: g < -1e-10, dw < -1e-12 (1 +
 * w) absolute, slope > 2 + 1e-12, so that exact-boundary fits (g -> 0 in a Lee-limit wing,
 * equal slices) are not flagged by rounding.
 */
import { ssviConditions } from './ssvi.js';
import type { SliceCurve, Derivs } from './surface.js';
import { SsviCurve } from './surface.js';
import type { ArbitrageReport, ButterflyViolation, CalendarViolation, LeeViolation, SsviConditionRow } from './types.js';

export const G_TOL = 1e-10;
export const W_TOL = 1e-12;
export const LEE_TOL = 1e-12;

/** Gatheral's g(k) from w, w', w'' at k. */
export function densityG(k: number, w: number, wk: number, wkk: number): number {
  const t = 1 - (k * wk) / (2 * w);
  return t * t - 0.25 * wk * wk * (1 / w + 0.25) + 0.5 * wkk;
}

export interface CheckGrid {
  kMin: number;
  kMax: number;
  points: number;
}

export function gridPoints(g: CheckGrid): Float64Array {
  if (!(g.kMax > g.kMin) || !(g.points >= 2)) throw new RangeError(`bad check grid [${g.kMin}, ${g.kMax}] x ${g.points}`);
  return Float64Array.from({ length: g.points }, (_, i) => g.kMin + ((g.kMax - g.kMin) * i) / (g.points - 1));
}

/** Runs of indices where bad[i] is true, as [start, end] inclusive. */
function runs(bad: ArrayLike<boolean>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let s = -1;
  for (let i = 0; i <= bad.length; i++) {
    const b = i < bad.length && bad[i];
    if (b && s < 0) s = i;
    if (!b && s >= 0) { out.push([s, i - 1]); s = -1; }
  }
  return out;
}

export function butterflyViolations(c: SliceCurve, ks: Float64Array): ButterflyViolation[] {
  const g = new Float64Array(ks.length);
  const d: Derivs = { w: 0, wk: 0, wkk: 0 };
  for (let i = 0; i < ks.length; i++) {
    c.derivs(ks[i], d);
    g[i] = d.w > 0 ? densityG(ks[i], d.w, d.wk, d.wkk) : -Infinity;
  }
  return runs(Array.from(g, (v) => !(v >= -G_TOL))).map(([s, e]) => {
    let worst = s;
    for (let i = s; i <= e; i++) if (!(g[i] >= g[worst])) worst = i;
    return { T: c.T, k: ks[worst], g: Number.isFinite(g[worst]) ? g[worst] : -1e300, k_from: ks[s], k_to: ks[e] };
  });
}

export function calendarViolations(c1: SliceCurve, c2: SliceCurve, ks: Float64Array): CalendarViolation[] {
  const dw = Float64Array.from(ks, (k) => {
    const w1 = c1.w(k);
    return c2.w(k) - w1;
  });
  const bad = Array.from(ks, (k, i) => dw[i] < -W_TOL * (1 + Math.abs(c1.w(k))));
  return runs(bad).map(([s, e]) => {
    let worst = s;
    for (let i = s; i <= e; i++) if (dw[i] < dw[worst]) worst = i;
    return { T1: c1.T, T2: c2.T, k: ks[worst], dw: dw[worst], k_from: ks[s], k_to: ks[e] };
  });
}

export function leeViolations(c: SliceCurve): LeeViolation[] {
  const s = c.wingSlopes();
  const out: LeeViolation[] = [];
  if (s.left > 2 + LEE_TOL) out.push({ T: c.T, side: 'left', slope: s.left });
  if (s.right > 2 + LEE_TOL) out.push({ T: c.T, side: 'right', slope: s.right });
  return out;
}

/** The full report for slices in increasing T. */
export function arbitrageReport(curves: readonly SliceCurve[], grid: CheckGrid): ArbitrageReport {
  const ks = gridPoints(grid);
  const butterfly = curves.flatMap((c) => butterflyViolations(c, ks));
  const calendar: CalendarViolation[] = [];
  for (let i = 1; i < curves.length; i++) calendar.push(...calendarViolations(curves[i - 1], curves[i], ks));
  const lee = curves.flatMap((c) => leeViolations(c));
  const report: ArbitrageReport = {
    free: butterfly.length === 0 && calendar.length === 0 && lee.length === 0,
    butterfly,
    calendar,
    lee,
    grid: { k_min: grid.kMin, k_max: grid.kMax, points: grid.points },
  };
  if (curves.length > 0 && curves.every((c) => c instanceof SsviCurve)) {
    report.ssvi_conditions = curves.map((c): SsviConditionRow => {
      const s = c as SsviCurve;
      const { c1, c2 } = ssviConditions({ theta: s.theta, rho: s.rho, psi: s.psi });
      return { T: c.T, c1, c2, ok: c1 < 4 && c2 <= 4 + 1e-12 };
    });
  }
  return report;
}

/** Default check grid: the quoted k range widened by half its width on each side, at least [-1, 1], 1001 points. */
export function defaultCheckGrid(kMinQuoted: number, kMaxQuoted: number): CheckGrid {
  const r = Math.max(kMaxQuoted - kMinQuoted, 0);
  return { kMin: Math.min(-1, kMinQuoted - 0.5 * r), kMax: Math.max(1, kMaxQuoted + 0.5 * r), points: 1001 };
}
