/**
 * Black-76 and Black-Scholes prices and Greeks in f64.
 *
 * Conventions (all Greeks are sensitivities of the present value V):
 *
 * Forward convention, black76Price / black76Greeks(F, K, T, σ, isCall, D):
 *   V = D · θ [F Φ(θ d1) - K Φ(θ d2)],  d1,2 = (ln(F/K) ± σ²T/2)/(σ√T), θ = +1 call / -1 put,
 *   with the forward F and the discount factor D = P(0,T) taken as given (futures options, or any
 *   underlying quoted by its forward).
 *   delta = ∂V/∂F = D θ Φ(θ d1)            gamma = ∂²V/∂F² = D φ(d1) / (F σ √T)
 *   vega  = ∂V/∂σ = D F φ(d1) √T            (per unit of volatility: 1.0 = 100 vol points)
 *   theta = -∂V/∂T with F fixed and D = e^{-rT}, r = -ln(D)/T: r V - D F φ(d1) σ / (2√T)  (per year)
 *   vanna = ∂²V/∂F∂σ = -D φ(d1) d2 / σ      volga = ∂²V/∂σ² = vega d1 d2 / σ
 *
 * Spot convention, blackScholesGreeks(S, K, T, σ, r, q, isCall): F = S e^{(r-q)T}, D = e^{-rT}:
 *   delta = ∂V/∂S = θ e^{-qT} Φ(θ d1)       gamma = ∂²V/∂S² = e^{-qT} φ(d1) / (S σ √T)
 *   vega  = S e^{-qT} φ(d1) √T
 *   theta = -∂V/∂T (spot, r, q fixed) = -S e^{-qT} φ(d1) σ/(2√T) - θ r K e^{-rT} Φ(θ d2) + θ q S e^{-qT} Φ(θ d1)
 *   vanna = ∂²V/∂S∂σ = -e^{-qT} φ(d1) d2 / σ  volga = vega d1 d2 / σ
 * Spot Greeks relate to forward ones by delta_S = delta_F e^{(r-q)T}, gamma_S = gamma_F e^{2(r-q)T}.
 *
 * Prices go through the normalised Black function (normalised.ts), which keeps full relative
 * accuracy for deep out-of-the-money options where F Φ(d1) - K Φ(d2) would cancel.
 * At σ√T = 0 the price is the discounted intrinsic value and the Greeks are those of the payoff
 * (delta 0 or ±D, the rest 0). Invalid inputs throw a RangeError naming the field.
 */
import { normCdf, normPdf } from './normal.js';
import { normalisedOtmCall } from './normalised.js';

export interface Greeks {
  price: number;
  delta: number;
  gamma: number;
  vega: number;
  theta: number;
  vanna: number;
  volga: number;
}

function check(name: string, v: number, positive: boolean): void {
  if (!Number.isFinite(v) || (positive ? !(v > 0) : v < 0)) {
    throw new RangeError(`${name} must be a finite ${positive ? 'positive' : 'non-negative'} number, got ${v}`);
  }
}

function checkInputs(forward: number, strike: number, T: number, vol: number, discount: number): void {
  check('forward', forward, true);
  check('strike', strike, true);
  check('T', T, false);
  check('vol', vol, false);
  check('discount', discount, true);
}

/** Undiscounted Black price times `discount`, for checked inputs. */
function price76(forward: number, strike: number, T: number, vol: number, isCall: boolean, discount: number): number {
  const s = vol * Math.sqrt(T);
  if (s === 0) return discount * Math.max(isCall ? forward - strike : strike - forward, 0);
  // In the money: the exact intrinsic F - K plus the out-of-the-money part (rather than √(FK) times
  // the normalised intrinsic, which rounds differently and could land below F - K).
  const x = Math.log(forward / strike);
  const intrinsic = Math.max(isCall ? forward - strike : strike - forward, 0);
  return discount * (intrinsic + Math.sqrt(forward * strike) * normalisedOtmCall(-Math.abs(x), s));
}

/** Present value of a European option on a forward (Black-76). */
export function black76Price(
  forward: number,
  strike: number,
  T: number,
  vol: number,
  isCall: boolean,
  discount = 1,
): number {
  checkInputs(forward, strike, T, vol, discount);
  return price76(forward, strike, T, vol, isCall, discount);
}

/** Black-76 price and forward-convention Greeks (see the module comment). */
export function black76Greeks(
  forward: number,
  strike: number,
  T: number,
  vol: number,
  isCall: boolean,
  discount = 1,
): Greeks {
  checkInputs(forward, strike, T, vol, discount);
  const price = price76(forward, strike, T, vol, isCall, discount);
  const theta = isCall ? 1 : -1;
  const sqrtT = Math.sqrt(T);
  const s = vol * sqrtT;
  const rate = T > 0 ? -Math.log(discount) / T : 0;
  if (s === 0) {
    const itm = theta * (forward - strike) > 0;
    return { price, delta: itm ? theta * discount : 0, gamma: 0, vega: 0, theta: rate * price, vanna: 0, volga: 0 };
  }
  const d1 = Math.log(forward / strike) / s + 0.5 * s;
  const d2 = d1 - s;
  const pdf = normPdf(d1);
  const vega = discount * forward * pdf * sqrtT;
  return {
    price,
    delta: discount * theta * normCdf(theta * d1),
    gamma: (discount * pdf) / (forward * s),
    vega,
    theta: rate * price - (discount * forward * pdf * vol) / (2 * sqrtT),
    vanna: (-discount * pdf * d2) / vol,
    volga: (vega * d1 * d2) / vol,
  };
}

/** Black-Scholes price and spot-convention Greeks, continuous rate r and dividend yield q. */
export function blackScholesGreeks(
  spot: number,
  strike: number,
  T: number,
  vol: number,
  rate: number,
  div: number,
  isCall: boolean,
): Greeks {
  check('spot', spot, true);
  check('strike', strike, true);
  check('T', T, false);
  check('vol', vol, false);
  if (!Number.isFinite(rate)) throw new RangeError(`rate must be a finite number, got ${rate}`);
  if (!Number.isFinite(div)) throw new RangeError(`div must be a finite number, got ${div}`);
  const theta = isCall ? 1 : -1;
  const dfR = Math.exp(-rate * T);
  const dfQ = Math.exp(-div * T);
  const forward = (spot * dfQ) / dfR;
  const price = price76(forward, strike, T, vol, isCall, dfR);
  const sqrtT = Math.sqrt(T);
  const s = vol * sqrtT;
  if (s === 0) {
    const itm = theta * (forward - strike) > 0;
    const thetaT = itm ? -theta * (rate * strike * dfR - div * spot * dfQ) : 0;
    return { price, delta: itm ? theta * dfQ : 0, gamma: 0, vega: 0, theta: thetaT, vanna: 0, volga: 0 };
  }
  const d1 = Math.log(forward / strike) / s + 0.5 * s;
  const d2 = d1 - s;
  const pdf = normPdf(d1);
  const vega = spot * dfQ * pdf * sqrtT;
  return {
    price,
    delta: theta * dfQ * normCdf(theta * d1),
    gamma: (dfQ * pdf) / (spot * s),
    vega,
    theta:
      (-spot * dfQ * pdf * vol) / (2 * sqrtT) -
      theta * rate * strike * dfR * normCdf(theta * d2) +
      theta * div * spot * dfQ * normCdf(theta * d1),
    vanna: (-dfQ * pdf * d2) / vol,
    volga: (vega * d1 * d2) / vol,
  };
}
