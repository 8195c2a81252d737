/**
 * calibrateMany: S independent surfaces through a worker_threads pool (workers load the .ts
 * sources through tsx here; test/cli/calibrateMany.test.ts checks the compiled dist/ workers), in
 * input order, each the same fit as calibrate on that surface alone; failures are per surface.
 */
import { describe, expect, it } from 'vitest';
import { calibrate } from '../../src/calibrator/calibrate.js';
import { calibrateMany, isSurfaceFailure, type ManyProgressEvent, type ManySurface, type SurfaceOutcome, type SurfaceResult } from '../../src/calibrator/many.js';
import { surfacesFromCsv } from '../../src/calibrator/manyCsv.js';
import type { CalibrationQuote } from '../../src/calibrator/quotes.js';
import type { CalibrationResult } from '../../src/calibrator/result.js';
import { CalibrationInputError } from '../../src/calibrator/transforms.js';
import { bates, heston, merton } from '../../src/models/index.js';
import type { Model } from '../../src/models/types.js';
import { cosCpuPricer, priceGrid } from './helpers.js';
import { rng, testSeed, uniform } from '../helpers/random.js';

const QL_START = { v0: 0.1, kappa: 3, theta: 0.1, sigma: 0.3, rho: -0.3 };

/** An OTM surface of `expiries` x `strikes` quotes around `spot` (rate `rate`), priced by the CPU COS engine at `params`. */
async function surface(model: Model, params: number[], o: { spot: number; rate: number; expiries: number; strikes: number; vol: number; maxDays: number }): Promise<CalibrationQuote[]> {
  const grid: CalibrationQuote[] = [];
  for (let e = 0; e < o.expiries; e++) {
    const T = (7 + ((o.maxDays - 7) * e) / Math.max(o.expiries - 1, 1)) / 365;
    const F = o.spot * Math.exp(o.rate * T);
    for (let k = 0; k < o.strikes; k++) {
      const K = F * Math.exp((-2 + (4 * k) / (o.strikes - 1)) * o.vol * Math.sqrt(T));
      grid.push({ row: grid.length + 1, T, strike: K, isCall: K >= F, price: NaN, forward: F, discount: Math.exp(-o.rate * T) });
    }
  }
  return priceGrid(model, Float64Array.from(params), grid);
}

/** A random Heston surface: equity-like (spot 100, vol ~20 %) or crypto-like (spot ~90,000, vol ~60 %, flat-ish skew). */
async function randomHeston(r: () => number, crypto: boolean): Promise<CalibrationQuote[]> {
  const v0 = crypto ? uniform(r, 0.2, 0.5) : uniform(r, 0.02, 0.08);
  const params = [v0, uniform(r, 0.8, 4), crypto ? uniform(r, 0.2, 0.5) : uniform(r, 0.02, 0.08), uniform(r, 0.3, crypto ? 1.2 : 0.8), crypto ? uniform(r, -0.4, 0.1) : uniform(r, -0.8, -0.3)];
  return surface(heston, params, {
    spot: crypto ? uniform(r, 80_000, 100_000) : 100,
    rate: crypto ? 0 : 0.02,
    expiries: 3 + Math.floor(r() * 4),
    strikes: 6 + Math.floor(r() * 6),
    vol: Math.sqrt(v0),
    maxDays: crypto ? 365 : 730,
  });
}

function relErr(a: Record<string, number>, b: Record<string, number>): number {
  return Math.max(...Object.keys(a).map((k) => Math.abs(a[k] - b[k]) / Math.max(Math.abs(b[k]), 1e-300)));
}

function ok(r: SurfaceOutcome): SurfaceResult {
  if (isSurfaceFailure(r)) throw new Error(`${r.surface} failed: ${r.error}`);
  return r;
}

describe('calibrateMany', () => {
  it(`gives calibrate's fit of each surface alone, in input order, from a worker pool and in-process (seed ${testSeed})`, async () => {
    const r = rng(testSeed);
    const surfaces: ManySurface[] = [];
    for (let i = 0; i < 3; i++) surfaces.push({ name: `heston ${i}`, quotes: await randomHeston(r, i === 1) });
    // Bates by the staged route from the standard start plus jumps (its own model and start).
    const batesTruth = [0.04, 1.5, 0.06, 0.5, -0.6, 0.6, -0.1, 0.15];
    surfaces.push({
      name: 'bates',
      model: bates,
      start: { ...QL_START, lambda: 0.5, muJ: -0.1, sigmaJ: 0.1 },
      quotes: await surface(bates, batesTruth, { spot: 100, rate: 0.02, expiries: 4, strikes: 8, vol: 0.2, maxDays: 730 }),
    });
    const events: ManyProgressEvent[] = [];
    const seen: number[] = [];
    const many = await calibrateMany(surfaces, {
      model: 'heston',
      backend: 'cpu',
      start: QL_START,
      threads: 2,
      progress: (e) => events.push(e),
      onResult: (_, i) => seen.push(i),
    });
    expect(many.map((m) => m.surface)).toEqual(surfaces.map((s) => s.name));
    expect(seen.sort()).toEqual([0, 1, 2, 3]);
    expect(events.map((e) => e.done)).toEqual([1, 2, 3, 4]);
    expect(events.at(-1)).toMatchObject({ total: 4, failed: 0, eta_seconds: 0 });

    const alone: CalibrationResult[] = [];
    for (const s of surfaces) {
      const model = s.model === bates ? bates : heston;
      alone.push(await calibrate(s.quotes, { model, backend: 'cpu', start: s.start ?? QL_START }));
    }
    many.forEach((m, i) => {
      const res = ok(m);
      expect(res.model).toBe(alone[i].model);
      expect(res.route).toEqual(alone[i].route);
      expect(relErr(res.params, alone[i].params)).toBeLessThanOrEqual(1e-10);
      expect(res.iterations).toBe(alone[i].iterations);
      expect(res.evaluations).toBe(alone[i].evaluations);
      expect(res.rmse_iv!).toBeCloseTo(alone[i].rmse_iv!, 14);
      // They recover the truth too (exact surfaces).
      expect(res.rmse_iv!).toBeLessThan(1e-6);
    });
    expect(relErr(ok(many[3]).params, Object.fromEntries(bates.params.map((p, j) => [p.name, batesTruth[j]])))).toBeLessThan(1e-4);

    // threads: 1 runs in-process: the same fits.
    const inProcess = await calibrateMany(surfaces.slice(0, 2), { model: heston, backend: 'cpu', start: QL_START, threads: 1 });
    inProcess.forEach((m, i) => expect(relErr(ok(m).params, alone[i].params)).toBeLessThanOrEqual(1e-10));
  });

  it('fails a surface without stopping the others; per-surface settings override the shared ones', async () => {
    const good = await surface(heston, [0.04, 1.5, 0.06, 0.5, -0.6], { spot: 100, rate: 0.01, expiries: 3, strikes: 7, vol: 0.2, maxDays: 365 });
    const mertonQuotes = await surface(merton, [0.2, 0.8, -0.15, 0.2], { spot: 100, rate: 0.01, expiries: 3, strikes: 7, vol: 0.25, maxDays: 365 });
    const expired = good.map((q) => ({ ...q, T: -q.T }));
    const surfaces: ManySurface[] = [
      { name: 'empty', quotes: [] },
      { name: 'good', quotes: good },
      { name: 'expired', quotes: expired },
      { name: 'unknown model', quotes: good, model: 'sabr' },
      { name: 'bad start', quotes: good, start: { kappa: Number.NaN } },
      { name: 'merton', quotes: mertonQuotes, model: 'merton', start: { vol: 0.25, lambda: 0.5, muJ: -0.1, sigmaJ: 0.15 } },
      { name: 'parse errors only', quotes: [], excluded: [{ row: 3, reason: 'strike: not a number' }] },
    ];
    for (const threads of [2, 1]) {
      const out = await calibrateMany(surfaces, { model: 'heston', backend: 'cpu', start: QL_START, threads });
      expect(out.map((o) => o.surface)).toEqual(surfaces.map((s) => s.name));
      const [empty, fit, exp, unknown, badStart, mer, parsed] = out;
      expect(empty).toMatchObject({ model: 'heston', error: expect.stringMatching(/empty quote set/), error_kind: 'input' });
      expect(ok(fit).rmse_iv!).toBeLessThan(1e-6);
      expect(exp).toMatchObject({ error: expect.stringMatching(/all 21 quotes were excluded/), error_kind: 'input' });
      expect(unknown).toMatchObject({ model: 'sabr', error: expect.stringMatching(/unknown model 'sabr'/), error_kind: 'input' });
      expect(badStart).toMatchObject({ error: expect.stringMatching(/start kappa is not a number/) });
      for (const f of [empty, exp, unknown, badStart, parsed]) {
        expect(isSurfaceFailure(f)).toBe(true);
        expect(f).not.toHaveProperty('params');
      }
      expect(ok(mer).model).toBe('merton');
      expect(ok(mer).rmse_iv!).toBeLessThan(1e-6);
      expect(parsed).toMatchObject({ error: 'all 1 rows were excluded (row 3: strike: not a number)' });
    }
  });

  it('merges pre-excluded rows into the result; refuses functions and unregistered models across threads', async () => {
    const good = await surface(heston, [0.04, 1.5, 0.06, 0.5, -0.6], { spot: 100, rate: 0.01, expiries: 3, strikes: 5, vol: 0.2, maxDays: 365 });
    const excluded = [{ row: 99, reason: 'strike: bad' }, { row: 0, reason: 'type: bad' }];
    const [one] = await calibrateMany([{ quotes: good, excluded }], { model: heston, backend: 'cpu', start: QL_START });
    expect(ok(one).surface).toBe('surface 1');
    expect(ok(one).quotes.excluded.map((e) => e.row)).toEqual([0, 99]);

    const two = [{ quotes: good }, { quotes: good }];
    await expect(calibrateMany(two, { model: heston, backend: 'cpu', threads: 2, createPricer: (m, q) => cosCpuPricer(m, q) })).rejects.toThrow(CalibrationInputError);
    await expect(calibrateMany(two, { model: heston, backend: 'cpu', threads: 0 })).rejects.toThrow(/threads must be a positive integer/);
    const mine: Model = { ...heston };
    const out = await calibrateMany(two, { model: mine, backend: 'cpu', threads: 2, start: QL_START });
    expect(out[0]).toMatchObject({ error: expect.stringMatching(/not the registry's .*threads: 1/) });
    // In-process, a pricer factory and a model of one's own are fine.
    const local = await calibrateMany(two, { model: mine, backend: 'cpu', threads: 1, start: QL_START, createPricer: (m, q) => cosCpuPricer(m, q) });
    expect(ok(local[1]).rmse_iv!).toBeLessThan(1e-6);
    expect(await calibrateMany([], { model: heston })).toEqual([]);
  });

  it('a worker thread that dies fails its surface only; a new worker fits the rest', async () => {
    const good = await surface(heston, [0.04, 1.5, 0.06, 0.5, -0.6], { spot: 100, rate: 0.01, expiries: 3, strikes: 5, vol: 0.2, maxDays: 365 });
    process.env.VOLFIT_TEST_WORKER_EXIT = '1';
    try {
      const out = await calibrateMany([0, 1, 2, 3].map((i) => ({ name: `s${i}`, quotes: good })), { model: heston, backend: 'cpu', start: QL_START, threads: 2 });
      expect(out[1]).toMatchObject({ surface: 's1', error: expect.stringMatching(/worker thread fitting this surface crashed \(exit code 3\)/), error_kind: 'internal' });
      for (const i of [0, 2, 3]) expect(ok(out[i]).rmse_iv!).toBeLessThan(1e-6);
    } finally {
      delete process.env.VOLFIT_TEST_WORKER_EXIT;
    }
  });

  it('splits a canonical CSV by its surface or date column, rows numbered in the whole file', () => {
    const csv = [
      'date,expiry,strike,type,price,forward',
      'd1,0.5,100,call,5,100',
      'd2,0.5,100,call,5,100',
      'd1,0.5,abc,call,5,100',
      'd2,0.25,90,put,1,100',
    ].join('\n');
    const split = surfacesFromCsv(csv);
    expect(split.column).toBe('date');
    expect(split.surfaces.map((s) => [s.name, s.quotes.map((q) => q.row), s.excluded!.map((e) => e.row)])).toEqual([
      ['d1', [1], [3]],
      ['d2', [2, 4], []],
    ]);
    expect(surfacesFromCsv(csv.replace('date', 'surface')).column).toBe('surface');
    expect(surfacesFromCsv(csv, { column: null }).surfaces).toHaveLength(1);
    expect(() => surfacesFromCsv(csv.replace('d2,0.25', ',0.25'))).toThrow(/row 4: the date column is empty/);
  });
});
