/**
 * Put-call parity per expiry on candidate quotes: pairs each strike's call and put where both are
 * two-sided and uncrossed, and fits the robust parity line near the money (see parity.ts).
 */
import { fitParity, nearTheMoney, type ParityFit, type ParityPair } from './parity.js';
import type { Candidate } from './types.js';

export interface ParityOptions {
  /** Near-the-money band on K / ref - 1 for the pairs (default 0.2). */
  band: number;
  /** Fewest pairs for a fit (default 3). */
  minPairs: number;
}

export const DEFAULT_PARITY: ParityOptions = { band: 0.2, minPairs: 3 };

const twoSided = (q: Candidate): boolean =>
  q.bid !== undefined && q.ask !== undefined && q.bid > 0 && q.ask >= q.bid;

/** Parity pairs of one expiry, from mids (call mid - put mid) of two-sided quotes. */
export function parityPairs(quotes: Candidate[]): ParityPair[] {
  const calls = new Map<number, Candidate>();
  const puts = new Map<number, Candidate>();
  for (const q of quotes) {
    if (!twoSided(q)) continue;
    const m = q.isCall ? calls : puts;
    if (!m.has(q.strike)) m.set(q.strike, q); // first quote at a strike, as the duplicate filter keeps
  }
  const pairs: ParityPair[] = [];
  for (const [k, c] of calls) {
    const p = puts.get(k);
    if (p) pairs.push({ strike: k, callMinusPut: 0.5 * (c.bid! + c.ask!) - 0.5 * (p.bid! + p.ask!) });
  }
  return pairs.sort((a, b) => a.strike - b.strike);
}

/** Fits one expiry around `ref` (spot or a forward guess); null when it cannot be determined. */
export function parityFit(quotes: Candidate[], ref: number, opts: ParityOptions = DEFAULT_PARITY): ParityFit | null {
  const pairs = parityPairs(quotes);
  if (pairs.length < opts.minPairs) return null;
  const first = fitParity(nearTheMoney(pairs, ref, opts.band, opts.minPairs), opts.minPairs);
  if (!first) return null;
  // Re-centre the band on the fitted forward: for long expiries F is far from spot.
  return fitParity(nearTheMoney(pairs, first.forward, opts.band, opts.minPairs), opts.minPairs) ?? first;
}

/** Groups candidates by their expiry key, in order of T. */
export function byExpiry(quotes: Candidate[]): Map<string, Candidate[]> {
  const m = new Map<string, Candidate[]>();
  for (const q of [...quotes].sort((a, b) => a.T - b.T)) {
    const g = m.get(q.expiry);
    if (g) g.push(q);
    else m.set(q.expiry, [q]);
  }
  return m;
}
