/**
 * normalize() on the bundled real files (data/): row accounting, USD conversion by hand, forwards
 * against the venues' own and against the published parity regressions in SOURCE.md, each
 * filter's reason code on crafted rows, weights, and the CLI on the same code path.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { normalize, type NormalizeResult } from '../../src/market/normalize.js';
import { parseCanonicalCsv } from '../../src/market/canonical.js';
import { MarketFormatError } from '../../src/market/errors.js';
import { EXCLUSION_REASONS } from '../../src/market/types.js';

const SNAPSHOT = 'data/deribit-btc-eth-snapshot-2026-01-05/deribit_options_snapshot_20260105T153329Z.csv';
const DAILY = 'data/deribit-btc-daily';
const SPX2025 = 'data/spx-2025-10-01-cboe-long-dated/spx_2025-10-01_cboe_chain.csv';
const SPX2011 = 'data/spx-2011-01-24-pyql/spx_2011-01-24_chain.csv';
const read = (f: string) => readFileSync(f, 'utf8');
const dataRows = (f: string) => read(f).split('\n').filter((l) => l.trim() !== '').length - 1;

const cache = new Map<string, NormalizeResult>();
function norm(file: string, underlying?: string): NormalizeResult {
  const k = `${file}|${underlying}`;
  if (!cache.has(k)) cache.set(k, normalize(read(file), { underlying }));
  return cache.get(k)!;
}

function expectAccounting(r: NormalizeResult, rowsInFile: number): void {
  const j = r.toJSON();
  expect(j.rows_in).toBe(rowsInFile);
  expect(j.rows_in).toBe(j.rows_out + j.excluded.length);
  // Each row exactly once, in the output or in the log.
  const rows = [...r.quotes.map((q) => q.row), ...r.excluded.map((e) => e.row)].sort((a, b) => a - b);
  expect(rows).toEqual(Array.from({ length: rowsInFile }, (_, i) => i + 1));
  for (const e of j.excluded) expect(EXCLUSION_REASONS).toContain(e.reason);
  for (const q of r.quotes) {
    for (const x of [q.iv, q.weight, q.forward, q.discount, q.T, q.price, q.totalVariance]) expect(Number.isFinite(x)).toBe(true);
    expect(q.iv).toBeGreaterThan(0);
  }
  expect(j.expiries.reduce((s, e) => s + e.quotes, 0)).toBe(j.rows_out);
}

describe('normalize: bundled Deribit files', () => {
  const dailies = readdirSync(DAILY).filter((f) => /^BTC_.*\.csv$/.test(f));

  it('accounts for every row of every bundled Deribit file', () => {
    expectAccounting(norm(SNAPSHOT, 'BTC'), 1288);
    expectAccounting(norm(SNAPSHOT, 'ETH'), 1288);
    expect(dailies.length).toBeGreaterThanOrEqual(10);
    for (const f of dailies) expectAccounting(norm(`${DAILY}/${f}`), dataRows(`${DAILY}/${f}`));
  });

  it('excludes the other currency of a mixed file with a reason (SOURCE.md: 628 BTC, 660 ETH rows)', () => {
    expect(norm(SNAPSHOT, 'BTC').exclusionCounts().wrong_underlying).toBe(660);
    expect(norm(SNAPSHOT, 'eth').exclusionCounts().wrong_underlying).toBe(628);
    expect(() => normalize(read(SNAPSHOT))).toThrow(/BTC and ETH.*--underlying/);
    expect(() => normalize(read(SNAPSHOT), { underlying: 'SOL' })).toThrow(MarketFormatError);
  });

  it('converts coin premiums to USD with the row underlying, by hand on two rows', () => {
    // Keep everything so rows 1 and 2 are in the output whatever their moneyness.
    const r = normalize(read(SNAPSHOT), { underlying: 'BTC', filters: { keepItm: true, maxRelSpread: 10, minMoneyness: 0, maxMoneyness: 100 } });
    const byRow = new Map(r.quotes.map((q) => [q.row, q]));
    // Row 1: BTC-16JAN26-82000-C, bid 0.1265, ask 0.1295 BTC, underlying 93758.42 USD.
    const q1 = byRow.get(1)!;
    expect(q1.bid).toBeCloseTo(0.1265 * 93758.42, 8); // 11860.43013
    expect(q1.ask).toBeCloseTo(12141.71539, 4);
    expect(q1.price).toBeCloseTo(12001.07776, 4); // 0.128 * 93758.42
    expect(q1).toMatchObject({ forward: 93758.42, discount: 1, rate: 0, strike: 82000, isCall: true, venue: 'deribit', underlying: 'BTC' });
    // T: ACT/365 from 15:33:29.748387 to 08:00 on 2026-01-16; the file gives the same span on 365.25.
    expect(q1.T).toBeCloseTo((10 * 86400 + 16 * 3600 + 26 * 60 + 30.251613) / (365 * 86400), 9);
    expect(q1.T).toBeCloseTo((0.029254133762168223 * 365.25) / 365, 9);
    // Row 2: BTC-25DEC26-40000-P, bid 0.009, ask 0.01, underlying 97963.07.
    const q2 = byRow.get(2)!;
    expect(q2.price).toBeCloseTo(930.649165, 5); // 0.0095 * 97963.07
    expect(q2.isCall).toBe(false);
  });

  it('inverts to Deribit\'s own mark IVs (Black-76, r = 0, forward = underlying) within half a vol point', () => {
    // Ours is the IV of the bid/ask mid, Deribit's of its mark: they differ by where the mark
    // sits in the spread (~0.1 vol point typically), not by convention. A wrong USD conversion
    // or forward would show up as whole vol points.
    for (const u of ['BTC', 'ETH']) {
      const d = norm(SNAPSHOT, u).quotes.filter((q) => q.T > 7 / 365).map((q) => Math.abs(q.iv - q.venueIv!)).sort((a, b) => a - b);
      expect(d.length).toBeGreaterThan(150);
      expect(d[d.length >> 1]).toBeLessThan(0.002);
      expect(d[Math.floor(d.length * 0.9)]).toBeLessThan(0.005);
    }
  });

  it('parity forwards agree with the venue forward within 0.1 % beyond one week', () => {
    // In coin, c - p = 1 - K/F_true whatever the USD conversion, so the parity fit recovers the
    // forward independently of Deribit's `underlying`. Short expiries have too few useful pairs.
    for (const u of ['BTC', 'ETH']) {
      const exps = norm(SNAPSHOT, u).expiries.filter((e) => e.T > 7 / 365);
      expect(exps.length).toBeGreaterThanOrEqual(8);
      for (const e of exps) {
        expect(e.forwardSource).toBe('venue');
        expect(Math.abs(e.parityForward! / e.forward - 1)).toBeLessThan(1e-3);
      }
    }
  });

  it('shows the stale book of 2026-01-13 as one-sided rows (SOURCE.md: 263 empty, 70 bid-only, 70 ask-only)', () => {
    const c = norm(`${DAILY}/BTC_2026-01-13.csv`).exclusionCounts();
    expect(c.no_bid).toBe(263 + 70);
    expect(c.no_ask).toBe(70);
  });

  it('sees the February 2026 regime shift: ATM ~3-week IV up by > 15 vol points from 01-31 to 02-06', () => {
    const atm = (f: string) => {
      const r = norm(`${DAILY}/${f}`);
      const e = r.expiries.filter((x) => x.quotes > 0).reduce((a, b) => (Math.abs(b.T - 25 / 365) < Math.abs(a.T - 25 / 365) ? b : a));
      return r.quotes.filter((q) => q.expiry === e.expiry).sort((a, b) => Math.abs(a.logMoneyness) - Math.abs(b.logMoneyness))[0].iv;
    };
    const before = atm('BTC_2026-01-31.csv');
    const after = atm('BTC_2026-02-06.csv');
    expect(before).toBeGreaterThan(0.3);
    expect(before).toBeLessThan(0.5);
    expect(after - before).toBeGreaterThan(0.15);
  });
});

describe('normalize: bundled CBOE SPX chains', () => {
  it('accounts for every row', () => {
    expectAccounting(norm(SPX2025), 1976);
    expectAccounting(norm(SPX2011), 1920);
  });

  it('SPX 2025-10-01: parity forwards and discounts match SOURCE.md (D 0.978 -> 0.922, F 6830.7 -> 7155.0, r 3.7-4.1 %, q 0.7-0.9 %)', () => {
    const e = norm(SPX2025).expiries;
    expect(e).toHaveLength(13);
    const first = e[0];
    const last = e[e.length - 1];
    // SOURCE.md rounds D to 3 decimals and F to 0.1, used OLS on 0.8-1.2 and T in whole days.
    expect(first.expiry.slice(0, 10)).toBe('2026-04-17');
    expect(Math.abs(first.discount - 0.978)).toBeLessThan(1e-3);
    expect(Math.abs(first.forward - 6830.7)).toBeLessThan(1);
    expect(last.expiry.slice(0, 10)).toBe('2027-12-17');
    expect(Math.abs(last.discount - 0.922)).toBeLessThan(1e-3);
    expect(Math.abs(last.forward - 7155.0)).toBeLessThan(1);
    for (const x of e) {
      expect(x.forwardSource).toBe('parity');
      expect(x.rate).toBeGreaterThan(0.036);
      expect(x.rate).toBeLessThan(0.0415);
      const q = x.rate - Math.log(x.forward / 6711.2002) / x.T;
      expect(q).toBeGreaterThan(0.007);
      expect(q).toBeLessThan(0.009);
      expect(x.parityRmsResidual!).toBeLessThan(2.5);
    }
  });

  it('SPX 2025-10-01: our IVs reproduce CBOE\'s own IVs (median within 0.05 vol point)', () => {
    // CBOE's rates are unstated; matching its IVs checks forward, discount, expiry time and inversion together.
    const d = norm(SPX2025).quotes.filter((q) => q.venueIv !== undefined).map((q) => Math.abs(q.iv - q.venueIv!)).sort((a, b) => a - b);
    expect(d.length).toBeGreaterThan(800);
    expect(d[d.length >> 1]).toBeLessThan(5e-4);
  });

  it('SPX 2011-01-24: implied r 0.35-1.3 %, q 1.9-2.5 % on the AM-settled SPX expiries (SOURCE.md)', () => {
    const am = norm(SPX2011).expiries.filter((x) => /T1[34]:30/.test(x.expiry));
    expect(am).toHaveLength(10);
    for (const x of am) {
      expect(x.rate).toBeGreaterThan(0.0035);
      expect(x.rate).toBeLessThan(0.013);
      const q = x.rate - Math.log(x.forward / 1290.59) / x.T;
      expect(q).toBeGreaterThan(0.019);
      expect(q).toBeLessThan(0.025);
    }
    // Old OCC Saturday dates move to the Friday opening: SPX 2011-02-19 (Sat) -> 2011-02-18 09:30 EST.
    expect(am[0].expiry).toBe('2011-02-18T14:30:00.000Z');
  });
});

describe('normalize: filters and weights on crafted canonical rows', () => {
  const H = 'expiry,strike,type,bid,ask,forward,rate,timestamp';
  const ts = '2026-01-05T12:00:00Z';
  const rows = [
    `0.5,100,call,5.5,5.7,100,0,${ts}`, // 1 ok (ATM)
    `0.5,100,put,5.5,5.7,100,0,${ts}`, // 2 ok (ATM twin: at K = F neither side is ITM)
    `0.5,90,call,11.5,12.5,100,0,${ts}`, // 3 ITM call, OTM put twin kept -> itm_with_otm_twin
    `0.5,90,put,1.6,1.7,100,0,${ts}`, // 4 ok
    `0.5,110,call,2.0,1.9,100,0,${ts}`, // 5 crossed
    `0.5,110,put,0,11,100,0,${ts}`, // 6 zero bid
    `0.5,100,call,5.5,5.7,100,0,${ts}`, // 7 duplicate of 1
    `0.5,105,call,1,3.5,100,0,${ts}`, // 8 wide spread (2.5/2.25 > 0.5)
    `0.001,100,call,0.4,0.42,100,0,${ts}`, // 9 T = 0.365 days < 1 day
    `0.5,300,call,0.001,0.0011,100,0,${ts}`, // 10 K/F = 3
    `0.5,80,call,15,15.5,100,0,${ts}`, // 11 below intrinsic (20)
    `0.5,120,call,101,102,100,0,${ts}`, // 12 above the forward
    `0.5,95,put,3.4,3.5,100,0,2026-01-04T12:00:00Z`, // 13 one day old: stale with maxAge 1 h
    `1,100,call,7.9,8.0,100,0.05,${ts}`, // 14 ok, discounted
  ];
  const text = [H, ...rows].join('\n');

  it('gives each bad row its reason code and keeps the good ones', () => {
    const r = normalize(text, { asOf: '2026-01-05T12:00:00Z', filters: { maxAgeSeconds: 3600 } });
    const reason = new Map(r.excluded.map((e) => [e.row, e.reason]));
    expect(Object.fromEntries(reason)).toEqual({
      3: 'itm_with_otm_twin',
      5: 'crossed_quote',
      6: 'no_bid',
      7: 'duplicate_quote',
      8: 'wide_spread',
      9: 'expiry_too_short',
      10: 'outside_moneyness_band',
      11: 'below_intrinsic',
      12: 'above_upper_bound',
      13: 'stale_quote',
    });
    expect(r.quotes.map((q) => q.row)).toEqual([1, 2, 4, 14]);
    expect(r.rowsIn).toBe(14);
    const q14 = r.quotes.find((q) => q.row === 14)!;
    expect(q14.discount).toBeCloseTo(Math.exp(-0.05), 14);
    expect(q14.logMoneyness).toBe(0);
    expect(q14.totalVariance).toBeCloseTo(q14.iv * q14.iv, 14);
    // Weights average 1.
    expect(r.quotes.reduce((s, q) => s + q.weight, 0) / r.quotes.length).toBeCloseTo(1, 12);
  });

  it('thresholds are options: keepItm and a wider spread let rows 3 and 8 through', () => {
    const r = normalize(text, { asOf: '2026-01-05T12:00:00Z', filters: { keepItm: true, maxRelSpread: 2 } });
    const kept = new Set(r.quotes.map((q) => q.row));
    expect(kept.has(3) && kept.has(8) && kept.has(13)).toBe(true);
  });

  it('staleness halves the weight at one half-life; spread weight is 1/(ask - bid)', () => {
    const t = [
      'expiry,strike,type,bid,ask,forward,timestamp',
      '0.5,100,call,5.5,5.7,100,2026-01-05T12:00:00Z',
      '0.5,100,put,5.5,5.9,100,2026-01-05T11:00:00Z', // one hour older, twice the spread
    ].join('\n');
    const r = normalize(t, { asOf: '2026-01-05T12:00:00Z', weights: { schemes: ['staleness'], halfLifeSeconds: 3600 } });
    expect(r.quotes[0].weightFactors.staleness).toBe(1);
    expect(r.quotes[1].weightFactors.staleness).toBeCloseTo(0.5, 14);
    expect(r.quotes[1].weight / r.quotes[0].weight).toBeCloseTo(0.5, 14);
    const s = normalize(t, { weights: { schemes: ['spread', 'open_interest'] } });
    expect(s.quotes[0].weightFactors.spread! / s.quotes[1].weightFactors.spread!).toBeCloseTo(2, 10);
    expect(s.quotes[0].weightFactors.open_interest).toBe(1); // no OI column: 1 + ln(1 + 0)
    const v = normalize(t, { weights: { schemes: ['vega'] } });
    expect(v.quotes[0].weightFactors.vega).toBeGreaterThan(0);
  });

  it('writes canonical CSV that reads back, and that normalizes again to the same set', () => {
    const r = norm(SPX2025);
    const csv = r.toCsv();
    const back = parseCanonicalCsv(csv);
    expect(back.errors).toEqual([]);
    expect(back.quotes).toHaveLength(r.rowsOut);
    back.quotes.forEach((q, i) => {
      const o = r.quotes[i];
      expect([q.T, q.strike, q.forward, q.rate, q.iv, q.weight, q.price]).toEqual([o.T, o.strike, o.forward, o.rate, o.iv, o.weight, o.price]);
      expect(q.venue).toBe('cboe');
    });
    const again = normalize(csv, { weights: { schemes: [] } });
    expect(again.rowsOut).toBe(r.rowsOut);
    again.quotes.forEach((q, i) => expect(q.iv).toBeCloseTo(r.quotes[i].iv, 12));
  });
});

describe('normalize: venue detection', () => {
  it('recognises each layout by its header and names what it expected otherwise', () => {
    expect(norm(SNAPSHOT, 'BTC').venue).toBe('deribit');
    expect(norm(SPX2011).venue).toBe('cboe');
    expect(normalize('expiry,strike,type,price,forward\n0.5,100,c,5,100\n').venue).toBe('canonical');
    expect(() => normalize('a,b,c\n1,2,3\n')).toThrow(/unknown quote layout.*deribit \(instrument_name.*cboe \(root.*canonical \(expiry/);
    expect(() => normalize('expiry,strike,type,price,forward\n0.5,100,c,5,100\n', { venue: 'deribit' })).toThrow(/not a deribit file: missing column\(s\) instrument_name/);
    expect(() => normalize('')).toThrow(MarketFormatError);
  });
});
