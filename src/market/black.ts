/**
 * The Black-76 functions normalization needs, taken from volfit's engine (src/engines/black).
 * Kept in one file so the market code depends on the engine in one place.
 */
import { impliedVolatility } from '../engines/black/impliedVol.js';
import { black76Greeks } from '../engines/black/black76.js';
import type { BlackInversion } from './filters.js';

export const black76Inversion: BlackInversion = {
  impliedVol: (price, forward, strike, T, isCall, discount) => impliedVolatility(price, forward, strike, T, isCall, discount),
  vega: (forward, strike, T, vol, isCall, discount) => black76Greeks(forward, strike, T, vol, isCall, discount).vega,
};
