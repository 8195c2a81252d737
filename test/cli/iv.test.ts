import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { black76Price } from '../../src/engines/black/black76.js';
import { hasGpu } from '../helpers/gpu.js';
import { rng, uniform } from '../helpers/random.js';
import { runCli } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'volfit-iv-'));

/** Quotes priced from known vols, so the CLI must give those vols back. */
function knownVolCsv(n: number): { path: string; vols: number[] } {
  const r = rng();
  const lines = ['Strike,TYPE,expiry,price,spot,rate,div'];
  const vols: number[] = [];
  for (let i = 0; i < n; i++) {
    const spot = 100;
    const T = uniform(r, 0.02, 3);
    const vol = uniform(r, 0.08, 1.2);
    const rate = uniform(r, -0.01, 0.06);
    const div = uniform(r, 0, 0.04);
    const F = spot * Math.exp((rate - div) * T);
    const K = F * Math.exp(uniform(r, -1.5, 1.5) * vol * Math.sqrt(T));
    const isCall = K > F; // out of the money: the price carries the volatility
    const price = black76Price(F, K, T, vol, isCall, Math.exp(-rate * T));
    lines.push(`${K},${isCall ? 'c' : 'P'},${T},${price},${spot},${rate},${div}`);
    vols.push(vol);
  }
  const path = join(dir, `known-${n}.csv`);
  writeFileSync(path, lines.join('\n'));
  return { path, vols };
}

describe('volfit iv', () => {
  it('recovers the volatilities that priced the quotes (cpu, 1e-12 relative)', async () => {
    const { path, vols } = knownVolCsv(200);
    const res = await runCli(['iv', '--input', path, '--backend', 'cpu', '--format', 'json']);
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out.backend).toBe('cpu');
    expect(out.rows).toHaveLength(vols.length);
    out.rows.forEach((row: { row: number; iv: number; status: string }, i: number) => {
      expect(row.row).toBe(i + 1);
      expect(row.status).toBe('ok');
      expect(Math.abs(row.iv / vols[i] - 1)).toBeLessThan(1e-12);
    });
  });

  it.skipIf(!hasGpu)('recovers them on WebGPU (f32 kernel, f64 polish) to 1e-12 relative', async () => {
    const { path, vols } = knownVolCsv(200);
    const res = await runCli(['iv', '--input', path, '--backend', 'webgpu', '--format', 'json']);
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out.backend).toBe('webgpu');
    // The f32 GPU solution (~1e-6) gets one f64 Householder(3) step on the CPU (quartic
    // convergence: ~1e-20), so WebGPU meets the CPU's 1e-12; OTM prices within 1.5 sd carry that.
    out.rows.forEach((row: { iv: number; status: string }, i: number) => {
      expect(row.status).toBe('ok');
      expect(Math.abs(row.iv / vols[i] - 1)).toBeLessThan(1e-12);
    });
  });

  it('gives every bad row a status naming the field, in input order, and keeps going', async () => {
    const path = join(dir, 'bad.csv');
    writeFileSync(
      path,
      [
        'strike,type,expiry,price,forward',
        '100,call,1,8,100', // ok
        '100,call,1,abc,100', // text in a number
        '-5,put,1,1,100', // negative strike
        '120,put,1,10,100', // below intrinsic (20)
        '80,call,1,150,100', // above the forward bound
        '100,x,1,8,100', // unknown type
      ].join('\n'),
    );
    const res = await runCli(['iv', '--input', path, '--backend', 'cpu', '--format', 'json']);
    expect(res.code).toBe(0);
    const rows = JSON.parse(res.stdout).rows;
    expect(rows.map((r: { row: number }) => r.row)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rows[0].status).toBe('ok');
    expect(rows[1]).toMatchObject({ status: 'invalid_input', field: 'price', iv: null });
    expect(rows[2]).toMatchObject({ status: 'invalid_input', field: 'strike', iv: null });
    expect(rows[3]).toMatchObject({ status: 'below_intrinsic', iv: null });
    expect(rows[4]).toMatchObject({ status: 'above_max', iv: null });
    expect(rows[5]).toMatchObject({ status: 'invalid_input', field: 'type', iv: null });
  });

  it('writes CSV to --out', async () => {
    const { path } = knownVolCsv(5);
    const out = join(dir, 'out.csv');
    const res = await runCli(['iv', '--input', path, '--backend', 'cpu', '--out', out]);
    expect(res.code).toBe(0);
    const { readFileSync } = await import('node:fs');
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('row,iv,status,field');
    expect(lines).toHaveLength(6);
  });

  it('a missing column is a one-line error and exit code 2', async () => {
    const path = join(dir, 'nocol.csv');
    writeFileSync(path, 'strike,type,price,forward\n100,call,8,100\n');
    const res = await runCli(['iv', '--input', path, '--backend', 'cpu']);
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/expiry/);
  });

  it('a missing file is a one-line error and exit code 2', async () => {
    const res = await runCli(['iv', '--input', join(dir, 'nope.csv')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/cannot read/);
  });
});
