/**
 * Quote preparation: grouping into slices, market vols from prices, exclusions with reasons,
 * cabinet quotes (deep out-of-the-money quotes at the minimum tick) and quotes whose bid-ask
 * spans no volatility.
 */
import { describe, expect, it } from 'vitest';
import { black76Price } from '../../src/engines/black/black76.js';
import { prepareSlices } from '../../src/surface/slices.js';
import { fitSurface } from '../../src/surface/fit.js';
import { sviW, type SviRaw } from '../../src/surface/svi.js';
import { SurfaceInputError, type SurfaceQuote } from '../../src/surface/types.js';

const smile: SviRaw = { a: 0.002, b: 0.02, rho: -0.5, m: 0.02, sigma: 0.08 };
const T = 0.05;
const F = 100_000;
const tick = 1e-4 * F; // Deribit: 0.0001 BTC, in USD after normalize

/** A Deribit-like slice: OTM options priced from the smile; where the true price is under one tick the book shows 1 tick bid / 2 ticks ask. */
function deribitSlice(): SurfaceQuote[] {
  const ks = Array.from({ length: 25 }, (_, i) => -0.6 + i * 0.045);
  return ks.map((k, i) => {
    const K = F * Math.exp(k);
    const isCall = k > 0;
    const iv = Math.sqrt(sviW(smile, k) / T);
    const p = black76Price(F, K, T, iv, isCall, 1);
    const floor = p < tick;
    const bid = floor ? tick : p * 0.99, ask = floor ? 2 * tick : p * 1.01;
    return { row: i + 1, T, expiry: '2026-02-01', forward: F, strike: K, isCall, price: (bid + ask) / 2, bid, ask, venue: 'deribit' };
  });
}

describe('prepareSlices', () => {
  it('groups by expiry in increasing T, k = ln(K/F), W = iv^2 T, weights mean 1; price inverted when no iv', () => {
    const q: SurfaceQuote[] = [
      { row: 1, T: 1, expiry: 'b', forward: 100, strike: 110, isCall: true, iv: 0.2, weight: 2 },
      { row: 2, T: 0.5, expiry: 'a', forward: 100, strike: 90, isCall: false, price: black76Price(100, 90, 0.5, 0.25, false, 0.99), discount: 0.99, weight: 1 },
      { row: 3, T: 1, expiry: 'b', forward: 100, strike: 95, isCall: false, iv: 0.22, weight: 3 },
    ];
    const { slices, excluded } = prepareSlices(q);
    expect(excluded).toEqual([]);
    expect(slices.map((s) => s.expiry)).toEqual(['a', 'b']);
    expect(Math.abs(slices[0].iv[0] - 0.25)).toBeLessThan(1e-12);
    expect(Array.from(slices[1].k)).toEqual([Math.log(0.95), Math.log(1.1)]);
    expect(Math.abs(slices[1].w[0] - 0.22 ** 2)).toBeLessThan(1e-16);
    expect([...slices[0].weight, ...slices[1].weight].reduce((a, b) => a + b, 0)).toBeCloseTo(3, 12);
  });

  it('excludes bad rows with a reason naming the field, and refuses a set with nothing usable', () => {
    const q: SurfaceQuote[] = [
      { row: 1, T: -1, forward: 100, strike: 100, isCall: true, iv: 0.2 },
      { row: 2, T: 1, forward: 100, strike: 100, isCall: true, price: 150 },
      { row: 3, T: 1, forward: 100, strike: 100, isCall: true, iv: 0.2, weight: 0 },
      { row: 4, T: 1, forward: 100, strike: 100, isCall: true },
    ];
    expect(() => prepareSlices(q)).toThrow(SurfaceInputError);
    const { excluded } = prepareSlices([...q, { row: 5, T: 1, forward: 100, strike: 100, isCall: true, iv: 0.2 }]);
    expect(excluded.map((e) => e.reason)).toEqual(['invalid_input', 'no_implied_vol', 'zero_weight', 'invalid_input']);
    expect(excluded[0].detail).toMatch(/T=-1/);
    expect(excluded[3].detail).toMatch(/no price and no implied vol/);
  });

  it('drops cabinet quotes (OTM, bid at the minimum tick) with a reason; the fit of the rest recovers the smile', () => {
    const quotes = deribitSlice();
    const { slices, excluded } = prepareSlices(quotes);
    const cab = excluded.filter((e) => e.reason === 'cabinet_quote');
    expect(cab.length).toBeGreaterThanOrEqual(3);
    expect(cab[0].detail).toMatch(/bid 10 <= 1 tick\(s\) of 10; its vol/);
    // Every dropped row is a deep OTM quote at the floor.
    for (const e of cab) expect(quotes[e.row - 1].bid).toBe(tick);
    expect(slices[0].k.length).toBe(quotes.length - cab.length);
    const kept = fitSurface(quotes, { model: 'svi' }).result;
    const kepAll = fitSurface(quotes, { model: 'svi', cabinet: { action: 'keep' } }).result;
    // The floor quotes' vols are the tick's: they make a vol cliff the smile cannot follow.
    expect(kept.rmse_iv).toBeLessThan(0.003);
    expect(kepAll.rmse_iv).toBeGreaterThan(3 * kept.rmse_iv);
    const down = prepareSlices(quotes, { cabinet: { action: 'downweight', factor: 0.1 } });
    expect(down.excluded.length).toBe(0);
  });

  it('takes an explicit tick (number or function) and has no default for unknown venues', () => {
    const quotes = deribitSlice().map((q) => ({ ...q, venue: 'other' }));
    expect(prepareSlices(quotes).excluded.filter((e) => e.reason === 'cabinet_quote').length).toBe(0);
    expect(prepareSlices(quotes, { cabinet: { tick } }).excluded.filter((e) => e.reason === 'cabinet_quote').length).toBeGreaterThanOrEqual(3);
    expect(prepareSlices(quotes, { cabinet: { tick: () => tick } }).excluded.filter((e) => e.reason === 'cabinet_quote').length).toBeGreaterThanOrEqual(3);
  });

  it('drops a quote whose bid-ask spans no volatility (deep ITM, bid below intrinsic)', () => {
    const K = 80, iv = 0.5, T2 = 0.01;
    const p = black76Price(100, K, T2, iv, true, 1);
    const q: SurfaceQuote[] = [
      { row: 1, T: T2, forward: 100, strike: K, isCall: true, price: p, bid: 19.5, ask: p + 0.5 },
      { row: 2, T: T2, forward: 100, strike: 100, isCall: true, price: 2, bid: 1.95, ask: 2.05 },
    ];
    const { excluded } = prepareSlices(q);
    expect(excluded.map((e) => [e.row, e.reason])).toEqual([[1, 'wide_vol_spread']]);
    expect(prepareSlices(q, { maxVolSpread: Infinity }).excluded).toEqual([]);
  });

  it('warns when no quote is near the money, and still fits the quoted wing', () => {
    const p: SviRaw = { a: 0.01, b: 0.08, rho: -0.4, m: 0.05, sigma: 0.15 };
    const q: SurfaceQuote[] = [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6].map((k, i) => ({ row: i + 1, T: 0.25, forward: 100, strike: 100 * Math.exp(k), isCall: true, iv: Math.sqrt(sviW(p, k) / 0.25) }));
    expect(prepareSlices(q).slices[0].warnings.join()).toMatch(/no quote near the money/);
    const { result } = fitSurface(q, { model: 'svi' });
    expect(result.slices[0].warnings.join()).toMatch(/no quote near the money/);
    expect(result.rmse_iv).toBeLessThan(1e-6);
  });

  it("weightings: 'quote' uses the given weights, 'uniform' ignores them, 'vega' is phi(d1) (largest at the money)", () => {
    const q: SurfaceQuote[] = [-0.3, -0.1, 0, 0.1, 0.3].map((k, i) => ({ row: i + 1, T: 0.5, forward: 100, strike: 100 * Math.exp(k), isCall: k >= 0, iv: 0.2, weight: i + 1 }));
    const w = (weighting: 'quote' | 'uniform' | 'vega') => Array.from(prepareSlices(q, { weighting }).slices[0].weight);
    expect(w('quote').map((x) => x * 3)).toEqual([1, 2, 3, 4, 5].map((x) => expect.closeTo(x, 12)));
    expect(w('uniform')).toEqual([1, 1, 1, 1, 1]);
    const v = w('vega');
    expect(Math.max(...v)).toBe(v[2]);
    expect(v[0]).toBeLessThan(v[1]);
    expect(v.reduce((a, b) => a + b, 0)).toBeCloseTo(5, 12);
  });

  it('refuses an unknown model and returns plain JSON', () => {
    const q: SurfaceQuote[] = [-0.2, -0.1, 0, 0.1, 0.2].map((k, i) => ({ row: i + 1, T: 0.5, forward: 100, strike: 100 * Math.exp(k), isCall: k >= 0, iv: 0.2 + 0.1 * k * k }));
    expect(() => fitSurface(q, { model: 'heston' as never })).toThrow(/unknown surface model 'heston'/);
    const { result } = fitSurface(q, { model: 'essvi' });
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
    expect(Object.keys(result.arbitrage)).toEqual(expect.arrayContaining(['free', 'butterfly', 'calendar', 'lee', 'grid']));
  });
});
