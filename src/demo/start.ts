/**
 * Starting points and bounds the demo gives the calibrator, from the data itself: a start near
 * the optimum lets LM finish in seconds where a blind start needs the global stage (minutes on
 * two CPU cores). The calibrator still probes the start and runs its global stage if it is poor.
 */
import type { ReportQuote } from '../report/types.js';

/** Market IV of the quote nearest the forward, per expiry, in time order. */
export function atmTermStructure(quotes: readonly ReportQuote[]): Array<{ T: number; iv: number }> {
  const best = new Map<string, { T: number; iv: number; d: number }>();
  for (const q of quotes) {
    if (q.iv === undefined || !(q.iv > 0)) continue;
    const d = Math.abs(Math.log(q.strike / q.forward));
    const b = best.get(q.expiry);
    if (!b || d < b.d) best.set(q.expiry, { T: q.T, iv: q.iv, d });
  }
  return [...best.values()].sort((a, b) => a.T - b.T).map(({ T, iv }) => ({ T, iv }));
}

/**
 * Heston: v0 and theta from the shortest and longest ATM vols, moderate mean reversion and vol
 * of variance, no skew; Bates: the same plus moderate jumps (the demo replaces its diffusion part
 * by the Heston fit).
 */
export function demoStarts(quotes: readonly ReportQuote[]): Record<string, Record<string, number> | undefined> {
  const atm = atmTermStructure(quotes);
  if (atm.length === 0) return {};
  const v0 = atm[0].iv ** 2;
  const theta = atm[atm.length - 1].iv ** 2;
  const heston = { v0, kappa: 2, theta, sigma: 1, rho: 0 };
  return { heston, bates: { ...heston, lambda: 1, muJ: -0.05, sigmaJ: 0.15 } };
}

/**
 * Bates jump bounds for the demo. Unbounded, the BTC snapshot drives Bates to a degenerate
 * corner (intensity ~200 a year, jump std -> 0: jumps become extra diffusion; /work notes on
 * QuantLib see the same): the bounds keep the jump part a jump part, and the page says so.
 */
export const DEMO_BOUNDS: Record<string, Record<string, readonly [number, number]> | undefined> = {
  bates: { lambda: [0, 10], sigmaJ: [0.02, 2] },
};
