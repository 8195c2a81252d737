/** COS Fourier engine (Fang and Oosterlee 2008) for models with a characteristic function. */
export { cosPrices, cosPricesBatch, cosPricesAndGradient, expiryCoefficients, cosPutNormalised, type PricesAndGradient } from './cpu.js';
export { createCosPricer, type CosPricerOptions } from './pricer.js';
export { cosPlan, COS_F64_DEFAULTS, type CosOptions, type CosPlan } from './plan.js';
export { COS_F32_DEFAULTS } from './gpu.js';
export { groupByExpiry, checkQuotes, type ExpiryGroups } from './expiries.js';
