/** `volfit price`: the issue's command line, JSON in input order, and one-line errors (exit 2). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../cli/run.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runCli(args);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

const ISSUE = ['price', '--model', 'heston', '--params', 'v0=0.04,kappa=4,theta=0.25,sigma=1,rho=-0.5', '--spot', '100', '--rate', '0.01', '--div', '0.02', '--expiry', '1'];

describe('volfit price', () => {
  afterEach(() => vi.restoreAllMocks());

  it('prices the issue example (Lewis 2000 values) in input order with implied vols', async () => {
    const r = await run([...ISSUE, '--strikes', '120,80,100', '--type', 'call', '--backend', 'cpu', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.backend).toBe('cpu');
    expect(j.model).toBe('heston');
    const lewis = [9.024913483457836, 26.774758743998854, 16.070154917028834];
    j.prices.forEach((p: number, i: number) => expect(Math.abs(p - lewis[i])).toBeLessThan(1e-10));
    // Implied vols decrease with strike for rho < 0 (a skew), and are all resolved.
    expect(j.ivs[1]).toBeGreaterThan(j.ivs[2]);
    expect(j.ivs[2]).toBeGreaterThan(j.ivs[0]);
  });

  it.each([
    [['--params', 'v0=0.04,kappa=4,theta=0.25,sigma=1'], /missing heston parameter rho/],
    [['--params', 'v0=0.04,kappa=4,theta=0.25,sigma=1,rho=-0.5,nu=1'], /unknown heston parameter\(s\) nu/],
    [['--params', 'v0=0.04,kappa=4,theta=0.25,sigma=1,rho=-1.5'], /rho=-1.5 is outside/],
    [['--model', 'hestn'], /unknown model 'hestn'/],
  ])('rejects %j with a one-line error and exit 2', async (extra, message) => {
    const args = [...ISSUE, '--strikes', '100', '--backend', 'cpu'];
    for (let i = 0; i < extra.length; i += 2) {
      const at = args.indexOf(extra[i] as string);
      args[at + 1] = extra[i + 1] as string;
    }
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});

describe('volfit price --input (canonical quote CSV)', () => {
  afterEach(() => vi.restoreAllMocks());
  const dir = mkdtempSync(join(tmpdir(), 'volfit-price-'));
  const csv = (name: string, lines: string[]) => {
    const path = join(dir, name);
    writeFileSync(path, lines.join('\n'));
    return path;
  };
  // Lewis (2000): Heston (0.04, 4, 0.25, 1, -0.5), S = 100, r = 0.01, q = 0.02, T = 1, calls.
  const LEWIS: Record<number, number> = { 80: 26.774758743998854, 90: 20.93334900059671, 100: 16.070154917028834, 110: 12.132211516709845, 120: 9.024913483457836 };
  const PARAMS = ['--model', 'heston', '--params', 'v0=0.04,kappa=4,theta=0.25,sigma=1,rho=-0.5', '--backend', 'cpu', '--json'];
  const F = 100 * Math.exp(-0.01);
  const D = Math.exp(-0.01);
  // Rows out of strike order, puts mixed in: puts are checked through put-call parity,
  // P = C - D (F - K), against Lewis's calls; a second expiry sits between them.
  const ROWS: Array<[number, number, 'call' | 'put']> = [
    [1, 110, 'call'], [1, 80, 'put'], [0.5, 100, 'call'], [1, 120, 'call'], [1, 100, 'put'], [1, 90, 'call'], [1, 80, 'call'],
  ];
  const expected = (T: number, K: number, type: string) =>
    T !== 1 ? undefined : type === 'call' ? LEWIS[K] : LEWIS[K] - D * (F - K);

  it('prices rows with spot/rate/div columns in input order (Lewis values, 1e-10)', async () => {
    const path = csv('spot.csv', ['expiry,strike,type,spot,rate,div', ...ROWS.map(([T, K, t]) => `${T},${K},${t},100,0.01,0.02`)]);
    const r = await run(['price', '--input', path, ...PARAMS]);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.prices).toHaveLength(ROWS.length);
    ROWS.forEach(([T, K, t], i) => {
      const want = expected(T, K, t);
      if (want !== undefined) expect(Math.abs(j.prices[i] - want), `row ${i + 1}`).toBeLessThan(1e-10);
    });
    // The 6-month ATM call is worth less than the 1-year one (time value grows with T here).
    expect(j.prices[2]).toBeGreaterThan(0);
    expect(j.prices[2]).toBeLessThan(LEWIS[100]);
    expect(j.ivs.every((v: number | null) => v !== null && v > 0.05 && v < 1)).toBe(true);
  });

  it('accepts forward and discount columns instead, and ignores a price column', async () => {
    const path = csv('forward.csv', [
      'Type,Strike,Expiry,Forward,Discount,Price',
      ...ROWS.map(([T, K, t]) => `${t},${K},${T},${100 * Math.exp(-0.01 * T)},${Math.exp(-0.01 * T)},1.23`),
    ]);
    const r = await run(['price', '--input', path, ...PARAMS]);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    ROWS.forEach(([T, K, t], i) => {
      const want = expected(T, K, t);
      if (want !== undefined) expect(Math.abs(j.prices[i] - want), `row ${i + 1}`).toBeLessThan(1e-10);
    });
  });

  it('takes spot/rate/div from the flags when the file has no such columns (CSV output)', async () => {
    const path = csv('flags.csv', ['expiry,strike,type', '1,120,call', '1,80,call']);
    const r = await run(['price', '--input', path, '--spot', '100', '--rate', '0.01', '--div', '0.02', ...PARAMS.slice(0, -1)]);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toBe('T,strike,type,price,iv');
    expect(Math.abs(Number(lines[1].split(',')[3]) - LEWIS[120])).toBeLessThan(1e-10);
    expect(Math.abs(Number(lines[2].split(',')[3]) - LEWIS[80])).toBeLessThan(1e-10);
  });

  it.each([
    ['a bad strike', ['expiry,strike,type,spot', '1,100,call,100', '1,100,put,100', '1,abc,call,100'], /row 3, field strike: strike "abc" is not a number/],
    ['a bad type', ['expiry,strike,type,forward', '1,100,straddle,100'], /row 1, field type: type "straddle" is not call\/put/],
    ['an expired row', ['expiry,strike,type,forward', '1,100,call,100', '-0.5,100,call,100'], /row 2, field expiry: expiry is not after the valuation time/],
    ['no underlying', ['expiry,strike,type', '1,100,call'], /missing column "forward"/],
  ])('rejects %s with a one-line error naming the row and field, exit 2', async (_, lines, message) => {
    const path = csv(`bad-${lines.length}-${String(message).length}.csv`, lines as string[]);
    const r = await run(['price', '--input', path, ...PARAMS]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.out).toBe('');
  });

  it('refuses --input together with --strikes', async () => {
    const path = csv('both.csv', ['expiry,strike,type,forward', '1,100,call,100']);
    const r = await run(['price', '--input', path, '--strikes', '100', ...PARAMS]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/either --input or --expiry\/--strikes/);
  });
});
