/**
 * Forward and discount factor of one expiry from put-call parity, C - P = D*F - D*K, fitted as a
 * robust line y = a + b*K over near-the-money (call, put) pairs: D = -b, F = a / D.
 *
 * Robust because a single stale or fat-fingered pair would move a least-squares line: Theil-Sen
 * (median of pairwise slopes) gives the start, then Huber IRLS (c = 1.345, scale 1.4826 * MAD)
 * refines it, so outliers get weights < 1 instead of pulling the fit.
 */

export interface ParityPair {
  strike: number;
  /** Call price minus put price (present value), e.g. from mids. */
  callMinusPut: number;
}

export interface ParityFit {
  forward: number;
  discount: number;
  /** Pairs the line was fitted on. */
  pairs: number;
  /** RMS and largest absolute residual of C - P about the line, price units. */
  rmsResidual: number;
  maxAbsResidual: number;
}

const HUBER_C = 1.345;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : 0.5 * (s[m - 1] + s[m]);
}

/** Theil-Sen slope and intercept; null when fewer than two distinct strikes. */
function theilSen(k: number[], y: number[]): { a: number; b: number } | null {
  const slopes: number[] = [];
  for (let i = 0; i < k.length; i++)
    for (let j = i + 1; j < k.length; j++) if (k[j] !== k[i]) slopes.push((y[j] - y[i]) / (k[j] - k[i]));
  if (slopes.length === 0) return null;
  const b = median(slopes);
  return { a: median(k.map((ki, i) => y[i] - b * ki)), b };
}

/** Weighted least squares line, strikes centred for conditioning. */
function wls(k: number[], y: number[], w: number[]): { a: number; b: number } | null {
  let sw = 0, sk = 0, sy = 0;
  for (let i = 0; i < k.length; i++) { sw += w[i]; sk += w[i] * k[i]; sy += w[i] * y[i]; }
  if (!(sw > 0)) return null;
  const kc = sk / sw, yc = sy / sw;
  let skk = 0, sky = 0;
  for (let i = 0; i < k.length; i++) { const d = k[i] - kc; skk += w[i] * d * d; sky += w[i] * d * (y[i] - yc); }
  if (!(skk > 0)) return null;
  const b = sky / skk;
  return { a: yc - b * kc, b };
}

/**
 * Fits the parity line; null when the pairs cannot determine it (fewer than `minPairs`, one
 * strike only, or a fit with D <= 0 or F <= 0).
 */
export function fitParity(pairs: ParityPair[], minPairs = 3, iterations = 30): ParityFit | null {
  const ok = pairs.filter((p) => Number.isFinite(p.strike) && Number.isFinite(p.callMinusPut));
  if (ok.length < Math.max(2, minPairs)) return null;
  const k = ok.map((p) => p.strike);
  const y = ok.map((p) => p.callMinusPut);
  let line = theilSen(k, y);
  if (!line) return null;
  const w = new Array<number>(k.length).fill(1);
  for (let it = 0; it < iterations; it++) {
    const r = k.map((ki, i) => y[i] - line!.a - line!.b * ki);
    const scale = 1.4826 * median(r.map(Math.abs));
    if (!(scale > 0)) break; // exact fit (or more than half exact): nothing to reweight
    for (let i = 0; i < r.length; i++) { const u = Math.abs(r[i]) / (HUBER_C * scale); w[i] = u <= 1 ? 1 : 1 / u; }
    const next = wls(k, y, w);
    if (!next) break;
    const moved = Math.abs(next.b - line.b) + Math.abs(next.a - line.a) / Math.max(1, Math.abs(line.a));
    line = next;
    if (moved < 1e-13) break;
  }
  const discount = -line.b;
  const forward = line.a / discount;
  if (!(discount > 0) || !(forward > 0) || !Number.isFinite(forward)) return null;
  const res = k.map((ki, i) => y[i] - line!.a - line!.b * ki);
  return {
    forward,
    discount,
    pairs: k.length,
    rmsResidual: Math.sqrt(res.reduce((s, r) => s + r * r, 0) / res.length),
    maxAbsResidual: Math.max(...res.map(Math.abs)),
  };
}

/**
 * Picks the pairs to fit: strikes with K / ref inside [1 - band, 1 + band] (ref is spot or a first
 * guess of the forward), widened to the `minPairs` strikes nearest to ref when the band holds too few.
 */
export function nearTheMoney(pairs: ParityPair[], ref: number, band: number, minPairs: number): ParityPair[] {
  const inBand = pairs.filter((p) => Math.abs(p.strike / ref - 1) <= band);
  if (inBand.length >= minPairs) return inBand;
  return [...pairs].sort((a, b) => Math.abs(a.strike - ref) - Math.abs(b.strike - ref)).slice(0, Math.max(minPairs, inBand.length));
}
