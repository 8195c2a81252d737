/**
 * Dupire local variance from a total-variance surface, in Gatheral's form (Gatheral 2006,
 * "The Volatility Surface", (1.10); GJ 2014, (2.2)) on the forward:
 *
 *   sigma_loc^2(K, T) = (dw/dT) / g(k, T),   k = ln(K / F_T),
 *   g = (1 - k w'/(2 w))^2 - (w'^2 / 4)(1/w + 1/4) + w''/2,
 *
 * with w, w' = dw/dk, w'' and dw/dT (at fixed k) all analytic from the fitted slices
 * (surface.ts): no finite differences, no quotes. sigma_loc(K, T) is the local vol of the
 * underlying at level K at time T (Dupire with deterministic rates and dividends, which this
 * form absorbs through k = ln(K / F_T)); for a strike K use k = ln(K / F_T) with that expiry's forward.
 *
 * Where the surface is not arbitrage-free, local variance does not exist: g(k, T) <= 0 (butterfly;
 * also w <= 0) or dw/dT < 0 (calendar). Those points throw `LocalVolError` naming k and T (or,
 * in the grid function with `onError: 'collect'`, come back as null with the error listed) —
 * never a clipped or substituted value.
 */
import { densityG } from './arbitrage.js';
import type { VolSurface } from './surface.js';
import { LocalVolError } from './types.js';

/** sigma_loc^2 at (k, T). Throws LocalVolError where the surface has arbitrage there. */
export function localVariance(surface: VolSurface, k: number, T: number): number {
  if (!Number.isFinite(k)) throw new RangeError(`k must be finite, got ${k}`);
  const p = surface.at(k, T);
  if (!(p.w > 0)) throw new LocalVolError(k, T, 'butterfly', NaN);
  if (p.wT < 0) throw new LocalVolError(k, T, 'calendar', p.wT);
  const g = densityG(k, p.w, p.wk, p.wkk);
  if (!(g > 0)) throw new LocalVolError(k, T, 'butterfly', g);
  return p.wT / g;
}

export function localVol(surface: VolSurface, k: number, T: number): number {
  return Math.sqrt(localVariance(surface, k, T));
}

export interface LocalVolGrid {
  /** Row per T, column per k; null where local vol does not exist (collect mode). */
  vol: Array<Array<number | null>>;
  errors: LocalVolError[];
}

/**
 * Local vol on a (T, k) grid. `onError: 'throw'` (default) throws the first LocalVolError;
 * 'collect' returns null at those points and lists every error.
 */
export function localVolGrid(surface: VolSurface, ks: ArrayLike<number>, Ts: ArrayLike<number>, opts: { onError?: 'throw' | 'collect' } = {}): LocalVolGrid {
  const collect = opts.onError === 'collect';
  const errors: LocalVolError[] = [];
  const vol = Array.from(Ts, (T) =>
    Array.from(ks, (k) => {
      try {
        return localVol(surface, k, T);
      } catch (e) {
        if (!collect || !(e instanceof LocalVolError)) throw e;
        errors.push(e);
        return null;
      }
    }),
  );
  return { vol, errors };
}
