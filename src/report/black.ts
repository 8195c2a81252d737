/**
 * The two Black-76 functions the report needs (price, implied vol), behind one import so the
 * report follows the project's f64 engine (src/engines/black: Jäckel-class implied vol).
 */
import { black76Price } from '../engines/black/black76.js';
import { impliedVolatility } from '../engines/black/impliedVol.js';

/** Black-76 present value. */
export function black76(F: number, K: number, T: number, vol: number, isCall: boolean, discount: number): number {
  return black76Price(F, K, T, vol, isCall, discount);
}

/** Implied vol of a present-value price; null where the price carries no vol (any status but 'ok'). */
export function impliedVol(price: number, F: number, K: number, T: number, isCall: boolean, discount: number): number | null {
  const r = impliedVolatility(price, F, K, T, isCall, discount);
  return r.status === 'ok' && r.iv !== null && Number.isFinite(r.iv) && r.iv > 0 ? r.iv : null;
}
