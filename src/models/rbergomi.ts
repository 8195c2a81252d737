/**
 * Rough Bergomi (Bayer, Friz, Gatheral, "Pricing under rough volatility", Quantitative Finance
 * 2016): V_t = xi0 exp(eta Y_t - eta^2 t^{2H} / 2), Y_t = sqrt(2H) int_0^t (t - s)^{H - 1/2} dW_s,
 * d ln S = -V/2 dt + sqrt(V) (rho dW + sqrt(1 - rho^2) dW_perp). Flat forward variance xi0.
 * No characteristic function: priced by the Monte Carlo engine (hybrid scheme).
 */
import type { Model } from './types.js';

export const rbergomi: Model = {
  name: 'rbergomi',
  kernels: { mc: 'rbergomi' },
  params: [
    { name: 'xi0', lower: 1e-4, upper: 4, initial: 0.04, description: 'flat forward variance' },
    { name: 'eta', lower: 0.01, upper: 5, initial: 1.9, description: 'volatility of volatility' },
    { name: 'rho', lower: -0.999, upper: 0.999, initial: -0.9, description: 'spot-volatility correlation' },
    { name: 'H', lower: 0.01, upper: 0.49, initial: 0.1, description: 'Hurst exponent (rough: H < 1/2)' },
  ],
  constraints: [],
};
