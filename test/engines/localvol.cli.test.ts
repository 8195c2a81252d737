/**
 * `volfit localvol` (the Dupire grid of a surface-fit JSON) and `volfit price --model localvol
 * --surface fit.json --engine mc`: output shapes, agreement with the library, errors listed (grid)
 * or refused (pricing) where the surface has arbitrage, one-line errors with exit code 2.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/run.js';
import { black76Price } from '../../src/engines/black/black76.js';
import { normalize } from '../../src/market/normalize.js';
import { localVol } from '../../src/surface/dupire.js';
import { fitSurface } from '../../src/surface/fit.js';
import { loadSurfaceFit, surfaceFitJson } from '../../src/surface/fitJson.js';

const dir = mkdtempSync(join(tmpdir(), 'volfit-localvol-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const read = (p: string) => readFileSync(new URL(`../../data/${p}`, import.meta.url), 'utf8');
const btc = normalize(read('deribit-btc-eth-snapshot-2026-01-05/deribit_options_snapshot_20260105T153329Z.csv'), { underlying: 'BTC' });
const fit = fitSurface(btc.quotes, { model: 'ssvi' });
const fitPath = file('btc-ssvi.json', JSON.stringify(surfaceFitJson(fit.result)));
// Two SVI slices that cross away from the money: calendar arbitrage between 0.25 and 0.5 years.
const crossingPath = file(
  'crossing.json',
  JSON.stringify({
    model: 'svi',
    params: {},
    slices: [
      { T: 0.25, forward: 100, params: { a: 0.01, b: 0.2, rho: -0.5, m: 0, sigma: 0.1 } },
      { T: 0.5, forward: 100, params: { a: 0.03, b: 0.05, rho: -0.5, m: 0, sigma: 0.1 } },
    ],
  }),
);

describe('volfit localvol', () => {
  it('--grid NK,NT --json: the library\'s local vol on NK k points x NT expiries (defaults: the fit\'s k range, first to last expiry)', async () => {
    const r = await runCli(['localvol', '--surface', fitPath, '--grid', '7,4', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j).sort()).toEqual(['T', 'errors', 'k', 'local_vol', 'model']);
    expect(j.model).toBe('ssvi');
    expect(j.k).toHaveLength(7);
    expect(j.T).toHaveLength(4);
    expect(j.k[0]).toBe(fit.result.arbitrage.grid.k_min);
    expect(j.k[6]).toBe(fit.result.arbitrage.grid.k_max);
    expect(j.T[0]).toBe(fit.result.slices[0].T);
    expect(j.T[3]).toBe(fit.result.slices[fit.result.slices.length - 1].T);
    expect(j.errors).toEqual([]);
    j.T.forEach((T: number, i: number) => j.k.forEach((k: number, c: number) => expect(j.local_vol[i][c]).toBe(localVol(fit.surface, k, T))));
  });

  it('explicit --k/--T; points with arbitrage are null and listed in errors (exit 0, a line on stderr); CSV without --json', async () => {
    const r = await runCli(['localvol', '--surface', crossingPath, '--k=-1,0,1', '--T', '0.1,0.4', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.k).toEqual([-1, 0, 1]);
    expect(j.T).toEqual([0.1, 0.4]);
    expect(j.local_vol[0].every((v: number | null) => typeof v === 'number' && v > 0)).toBe(true);
    expect(j.local_vol[1][0]).toBeNull();
    expect(j.local_vol[1][2]).toBeNull();
    expect(j.local_vol[1][1]).toBeGreaterThan(0);
    expect(j.errors).toEqual([
      expect.objectContaining({ k: -1, T: 0.4, reason: 'calendar' }),
      expect.objectContaining({ k: 1, T: 0.4, reason: 'calendar' }),
    ]);
    expect(j.errors[0].value).toBeLessThan(0);
    expect(r.stderr).toMatch(/^volfit: localvol: 2 of 6 grid points have no local vol .*\n$/);
    const csv = await runCli(['localvol', '--surface', crossingPath, '--k=-1,0', '--T', '0.4']);
    expect(csv.code).toBe(0);
    expect(csv.stdout.trim().split('\n')).toEqual(['T,k,local_vol,error', '0.4,-1,,calendar', `0.4,0,${j.local_vol[1][1]},`]);
  });

  it.each([
    [[], /--surface fit.json is required/],
    [['--surface', join(dir, 'missing.json')], /cannot read .*missing\.json: ENOENT/],
    [['--surface', 'FIT', '--grid', '41'], /--grid must be NK,NT/],
    [['--surface', 'FIT', '--grid', '1,5'], /--grid must be NK,NT/],
    [['--surface', 'FIT', '--T', '0,1'], /--T: item 1 \(0\) must be a positive number of years/],
    [['--surface', 'FIT', '--k-range', '1,-1'], /--k-range: hi must be greater than lo/],
    [['--surface', 'FIT', '--k', '0', '--k-range', '-1,1'], /either --k or --k-range/],
    [['--surface', 'BAD'], /--surface .*bad\.json: slices\[0\]\.params\.theta must be a positive number \(got "x"\)/],
    [['--surface', 'NOTJSON'], /--surface .*notjson\.json: not valid JSON/],
  ])('%j is a one-line error, exit 2', async (args, message) => {
    const bad = file('bad.json', JSON.stringify({ model: 'ssvi', params: { rho: 0, eta: 1, gamma: 0.5 }, slices: [{ T: 1, forward: 1, params: { theta: 'x' } }] }));
    const notJson = file('notjson.json', '{"model": "svi", ');
    const swap = (a: string) => (a === 'FIT' ? fitPath : a === 'BAD' ? bad : a === 'NOTJSON' ? notJson : a);
    const r = await runCli(['localvol', ...(args as string[]).map(swap)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('volfit price --model localvol --surface fit.json --engine mc', () => {
  it('prices a strip from the fit (forward from the fit\'s curve) within the MC error of the surface, JSON as price --engine mc', async () => {
    const T = 0.25;
    const loaded = loadSurfaceFit(JSON.parse(readFileSync(fitPath, 'utf8')));
    const F = loaded.forwardAt(T);
    const strikes = [0.85, 1, 1.15].map((x) => Math.round(F * x));
    const r = await runCli([
      'price', '--model', 'localvol', '--surface', fitPath, '--engine', 'mc', '--paths', '16000', '--steps', '48', '--seed', '3',
      '--expiry', String(T), '--strikes', strikes.join(','), '--type', 'call', '--backend', 'cpu', '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j).sort()).toEqual(['backend', 'ivs', 'model', 'prices', 'stderr']);
    expect(j.model).toBe('localvol');
    expect(j.backend).toBe('cpu');
    strikes.forEach((K, i) => {
      const iv = Math.sqrt(fit.surface.at(Math.log(K / F), T).w / T);
      const ref = black76Price(F, K, T, iv, true, 1);
      expect(j.stderr[i]).toBeGreaterThan(0);
      expect(Math.abs(j.prices[i] - ref)).toBeLessThan(4 * j.stderr[i]);
      expect(Math.abs(j.ivs[i] - iv)).toBeLessThan(0.01);
    });
    // --spot sets the forward instead (r = q = 0: F = spot); the same seed gives the same paths.
    const s = await runCli(['price', '--model', 'localvol', '--surface', fitPath, '--engine', 'mc', '--paths', '4000', '--steps', '24', '--spot', String(F), '--expiry', String(T), '--strikes', String(strikes[1]), '--backend', 'cpu']);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout.split('\n')[0]).toBe('T,strike,type,price,iv,stderr');
  });

  it('--input prices a canonical quote CSV (forwards per row)', async () => {
    const csv = file('q.csv', ['expiry,strike,type,forward', '0.1,90000,put,93000', '0.5,100000,call,94000'].join('\n'));
    const r = await runCli(['price', '--model', 'localvol', '--surface', fitPath, '--engine', 'mc', '--paths', '4000', '--steps', '24', '--input', csv, '--backend', 'cpu', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.prices).toHaveLength(2);
    j.ivs.forEach((v: number) => expect(v).toBeGreaterThan(0.2));
  });

  it.each([
    [['--surface', 'FIT', '--expiry', '0.1', '--strikes', '90000'], /add --engine mc/],
    [['--engine', 'mc', '--expiry', '0.1', '--strikes', '90000'], /--surface fit.json is required/],
    [['--surface', 'FIT', '--engine', 'mc', '--params', 'v0=1', '--expiry', '0.1', '--strikes', '90000'], /--params is not used with --model localvol/],
    [['--surface', 'FIT', '--engine', 'mc', '--paths', '0', '--expiry', '0.1', '--strikes', '90000'], /--paths must be an integer/],
    [['--surface', 'FIT', '--engine', 'mc', '--strikes', '90000'], /--expiry \(years/],
    [['--surface', 'CROSSING', '--engine', 'mc', '--paths', '100', '--expiry', '0.5', '--strikes', '100'], /--surface .*crossing\.json: local vol undefined at k=-?[\d.e-]+, T=[\d.e-]+: calendar arbitrage/],
  ])('%j is a one-line error, exit 2', async (args, message) => {
    const swap = (a: string) => (a === 'FIT' ? fitPath : a === 'CROSSING' ? crossingPath : a);
    const r = await runCli(['price', '--model', 'localvol', ...(args as string[]).map(swap), '--backend', 'cpu']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('other models still need --params and refuse --surface', async () => {
    const strip = ['--spot', '100', '--expiry', '1', '--strikes', '100', '--backend', 'cpu'];
    const r = await runCli(['price', '--model', 'heston', ...strip]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/required option '--params <list>' not specified/);
    const s = await runCli(['price', '--model', 'heston', '--params', 'v0=0.04,kappa=4,theta=0.25,sigma=1,rho=-0.5', '--surface', fitPath, ...strip]);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/--surface is for --model localvol only/);
  });
});
