/**
 * Issue 12 at the command line: inputs that used to give silent wrong answers are refused (one
 * line, exit 2) or excluded with the field named, and warm starts say what they filled in.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run.js';
import { heston } from '../../src/models/index.js';
import { priceGrid, surfaceGrid } from '../calibrator/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'volfit-inputs-'));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** One line on stderr, exit 2, no stack trace. */
function expectUserError(r: { code: number; stderr: string }, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(/^volfit: error: [^\n]*\n$/);
  expect(r.stderr).not.toMatch(/internal error/);
  expect(r.stderr).toMatch(pattern);
}

const HESTON_TRUTH = Float64Array.from([0.05, 2, 0.06, 0.6, -0.6]);
let hestonCsv: string | undefined;
async function hestonQuotes(): Promise<string> {
  if (hestonCsv) return hestonCsv;
  const quotes = await priceGrid(heston, HESTON_TRUTH, surfaceGrid({ expiries: 3, strikesPerExpiry: 5, atmVol: 0.23 }));
  hestonCsv = file(
    'heston.csv',
    ['expiry,strike,type,price,forward,discount', ...quotes.map((q) => `${q.T},${q.strike},${q.isCall ? 'call' : 'put'},${q.price},${q.forward},${q.discount}`)].join('\n') + '\n',
  );
  return hestonCsv;
}

describe('expiry units (volfit iv)', () => {
  it('a compact date or a day count is invalid_input naming expiry, not a vol from a 20-million-year option', async () => {
    const csv = file('units.csv', 'expiry,strike,type,price,forward\n20260630,100,call,5,100\n3650,100,call,5,100\n0.5,100,call,5,100\n');
    const r = await runCli(['iv', '--input', csv, '--backend', 'cpu', '--format', 'json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout).rows;
    expect(rows.map((x: { status: string; field?: string }) => [x.status, x.field])).toEqual([
      ['invalid_input', 'expiry'],
      ['invalid_input', 'expiry'],
      ['ok', undefined],
    ]);
    expect(rows[0].iv).toBeNull();
    expect(rows[0].message).toMatch(/expiry 20260630 years\? expiry is in years .*or an ISO date; 20260630 looks like a compact date, write 2026-06-30/);
    expect(rows[1].message).toMatch(/if 3650 is days, that is 10 years/);
  });

  it('price --input refuses the row too', async () => {
    const csv = file('units-price.csv', 'expiry,strike,type,forward\n20260630,100,call,100\n');
    const r = await runCli(['price', '--model', 'heston', '--params', 'v0=0.04,kappa=2,theta=0.04,sigma=0.5,rho=-0.5', '--input', csv, '--backend', 'cpu']);
    expectUserError(r, /row 1, field expiry: expiry 20260630 years\?/);
  });
});

describe('numeric flags: decimal numbers only', () => {
  const PARAMS = 'v0=0.04,kappa=2,theta=0.04,sigma=0.5,rho=-0.5';
  const strip = (over: Record<string, string>) => {
    const f: Record<string, string> = { '--spot': '100', '--expiry': '1', '--strikes': '90,100,110', '--params': PARAMS, ...over };
    return ['price', '--model', 'heston', '--backend', 'cpu', ...Object.entries(f).flat()];
  };

  it('accepts decimals and exponents', async () => {
    const r = await runCli(strip({ '--spot': '1e2', '--expiry': '+0.5', '--params': 'v0=4e-2,kappa=2.,theta=.04,sigma=0.5,rho=-5E-1', '--strikes': '90, 100 ,110' }));
    expect(r.code, r.stderr).toBe(0);
  });

  it.each([
    ['--params', 'v0=0x1,kappa=2,theta=0.04,sigma=0.5,rho=-0.5', /--params: v0='0x1' is not a number/],
    ['--params', 'v0=0b1,kappa=2,theta=0.04,sigma=0.5,rho=-0.5', /--params: v0='0b1' is not a number/],
    ['--params', 'v0=,kappa=2,theta=0.04,sigma=0.5,rho=-0.5', /--params: v0='' is not a number/],
    ['--spot', '0x64', /--spot must be a decimal number, got '0x64'/],
    ['--spot', 'Infinity', /--spot must be a decimal number, got 'Infinity'/],
    ['--spot', '', /--spot must be a decimal number, got ''/],
    ['--spot', '  ', /--spot must be a decimal number, got ' {2}'/],
    ['--expiry', '0o1', /--expiry must be a decimal number, got '0o1'/],
    ['--rate', '0x0', /--rate must be a decimal number/],
    ['--strikes', '90,0x64,110', /--strikes: item 2 '0x64' is not a decimal number/],
    ['--strikes', '90,,110', /--strikes: item 2 '' is not a decimal number/],
  ])('volfit price %s %j is refused', async (flag, value, message) => {
    expectUserError(await runCli(strip({ [flag]: value })), message);
  });

  it('integer flags: Monte Carlo paths and seeds', async () => {
    expectUserError(await runCli([...strip({}), '--engine', 'mc', '--paths', '0x1000']), /--paths must be a positive integer, got '0x1000'/);
    expectUserError(await runCli([...strip({}), '--engine', 'mc', '--seed', '0b11']), /--seed must be an integer/);
    const csv = await hestonQuotes();
    expectUserError(await runCli(['calibrate', '--input', csv, '--model', 'rbergomi', '--backend', 'cpu', '--paths', '0x1000']), /--paths must be an integer in \[2, 2147483648\], got '0x1000'/);
    expectUserError(await runCli(['calibrate', '--input', csv, '--model', 'heston', '--backend', 'cpu', '--seed', '']), /--seed must be an integer/);
  });

  it('normalize and iv flags', async () => {
    const csv = await hestonQuotes();
    expectUserError(await runCli(['normalize', '--input', csv, '--min-days', '0x1']), /--min-days must be a decimal number/);
    expectUserError(await runCli(['normalize', '--input', csv, '--moneyness', '0.5,Infinity']), /--moneyness: item 2 'Infinity'/);
    expectUserError(await runCli(['iv', '--input', csv, '--backend', 'cpu', '--rate', '0x1']), /--rate must be a decimal number/);
  });
});

describe('file layout', () => {
  it('a ;-delimited or tab-delimited file gets a hint, not "missing column"', async () => {
    const semi = file('semi.csv', 'expiry;strike;type;price;forward\n0,5;100;call;5;100\n');
    expectUserError(await runCli(['iv', '--input', semi, '--backend', 'cpu']), /semi\.csv: the file looks ;-delimited; volfit reads comma-separated CSV/);
    const tab = file('tab.tsv', 'expiry\tstrike\ttype\tprice\tforward\n0.5\t100\tcall\t5\t100\n');
    expectUserError(await runCli(['normalize', '--input', tab]), /the file looks tab-delimited/);
    expectUserError(await runCli(['calibrate', '--input', tab, '--model', 'heston', '--backend', 'cpu']), /the file looks tab-delimited/);
  });

  it('two columns for one field are refused naming both', async () => {
    const csv = file('alias.csv', 'expiry,strike,type,option_type,price,forward\n0.5,100,call,put,5,100\n');
    expectUserError(await runCli(['iv', '--input', csv, '--backend', 'cpu']), /columns "type" and "option_type" are two names for the type column/);
    expectUserError(await runCli(['calibrate', '--input', csv, '--model', 'heston', '--backend', 'cpu']), /alias\.csv: columns "type" and "option_type"/);
  });
});

describe('calibrate --start / --prior', () => {
  it('errors about a start or prior name the flag and its JSON file, not the quotes', async () => {
    const csv = await hestonQuotes();
    const params = { v0: 0.05, kappa: 2, theta: 0.06, sigma: 0.6, rho: -0.6 };
    const abc = file('start-abc.json', JSON.stringify({ model: 'heston', params: { ...params, kappa: 'abc' } }));
    const r = await runCli(['calibrate', '--input', csv, '--model', 'heston', '--backend', 'cpu', '--start', abc]);
    expectUserError(r, new RegExp(`error: --start ${abc.replace(/[.]/g, '\\.')}: start kappa is not a number \\(got "abc"\\)\\n$`));
    expect(r.stderr).not.toContain(csv);

    const nul = file('start-null.json', JSON.stringify({ model: 'heston', params: { ...params, theta: null } }));
    expectUserError(await runCli(['calibrate', '--input', csv, '--model', 'heston', '--backend', 'cpu', '--start', nul]), /--start .*start-null\.json: start theta is not a number \(got null\)/);

    const out = file('start-out.json', JSON.stringify({ model: 'heston', params: { ...params, rho: -2 } }));
    expectUserError(await runCli(['calibrate', '--input', csv, '--model', 'heston', '--backend', 'cpu', '--start', out]), /--start .*start-out\.json: start rho=-2 is outside the bounds/);

    const merton = file('start-merton.json', JSON.stringify({ model: 'merton', params: { vol: 0.2 } }));
    expectUserError(await runCli(['calibrate', '--input', csv, '--model', 'heston', '--backend', 'cpu', '--start', merton]), /--start .*start-merton\.json: start is a merton fit/);

    expectUserError(await runCli(['calibrate', '--input', csv, '--model', 'heston', '--backend', 'cpu', '--start', 'kappa=-1']), /error: --start: start kappa=-1 is outside the bounds/);

    const prior = file('prior-abc.json', JSON.stringify({ model: 'heston', params: { ...params, sigma: 'abc' }, covariance: [], noise: 1 }));
    const p = await runCli(['calibrate', '--input', csv, '--model', 'heston', '--backend', 'cpu', '--prior', prior]);
    expectUserError(p, /--prior .*prior-abc\.json: prior sigma is not a number \(got "abc"\)/);
    expect(p.stderr).not.toContain(csv);
    const noCov = file('prior-nocov.json', JSON.stringify({ model: 'heston', params, noise: 1 }));
    expectUserError(await runCli(['calibrate', '--input', csv, '--model', 'heston', '--backend', 'cpu', '--prior', noCov]), /--prior .*prior-nocov\.json: prior fit has no 5x5 covariance/);
  });

  it('a partial start is filled from the model defaults, and says which on stderr and in the JSON', async () => {
    const csv = await hestonQuotes();
    const r = await runCli(['calibrate', '--input', csv, '--model', 'heston', '--backend', 'cpu', '--route', 'lm', '--start', 'v0=0.05,rho=-0.5', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const defaults = Object.fromEntries(heston.params.filter((s) => ['kappa', 'theta', 'sigma'].includes(s.name)).map((s) => [s.name, s.initial]));
    expect(r.stderr).toContain(
      `volfit: start: kappa, theta, sigma not given; they start at the heston default (kappa=${defaults.kappa}, theta=${defaults.theta}, sigma=${defaults.sigma})`,
    );
    const fit = JSON.parse(r.stdout);
    expect(fit.start_defaults).toEqual(defaults);
    // A full start fills nothing and says nothing.
    const full = await runCli(['calibrate', '--input', csv, '--model', 'heston', '--backend', 'cpu', '--route', 'lm', '--start', 'v0=0.05,kappa=2,theta=0.06,sigma=0.6,rho=-0.6', '--json']);
    expect(full.code, full.stderr).toBe(0);
    expect(full.stderr).not.toMatch(/not given/);
    expect(JSON.parse(full.stdout)).not.toHaveProperty('start_defaults');
  });
});

describe('calibrate --model rbergomi: Monte Carlo resolution', () => {
  it('refuses too few paths or steps at the flag instead of reporting a meaningless convergence', async () => {
    const csv = await hestonQuotes();
    const base = ['calibrate', '--input', csv, '--model', 'rbergomi', '--backend', 'cpu', '--route', 'lm'];
    expectUserError(await runCli([...base, '--paths', '2', '--steps', '1']), /--paths 2 is too few: a Monte Carlo fit needs at least 1024 paths/);
    expectUserError(await runCli([...base, '--steps', '4']), /--steps 4 is too few: a Monte Carlo fit needs at least 8 time steps/);
    expectUserError(await runCli([...base, '--paths', '1023']), /at least 1024 paths/);
  });
});

describe('report --fit', () => {
  it('refuses a fit with negative variance, naming the parameter', async () => {
    const csv = await hestonQuotes();
    const fit = {
      model: 'heston',
      params: { v0: -0.02, kappa: 2, theta: 0.06, sigma: 0.6, rho: -0.6 },
      stderr: {},
      rmse_iv: 0.01,
      rmse_price: 0.1,
      objective: 1,
      converged: true,
      quotes: { used: 1, excluded: [] },
      residuals: [{ row: 1, market_iv: 0.2, model_iv: 0.2, weight: 1 }],
    };
    const path = file('neg-fit.json', JSON.stringify(fit));
    expectUserError(
      await runCli(['report', '--fit', path, '--quotes', csv, '--out', join(dir, 'report'), '--bootstrap', '0', '--quiet']),
      /neg-fit\.json: field 'params\.v0' = -0\.02 is outside the heston bounds/,
    );
  });
});
