import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/run.js';

// Lewis (2000) Heston calls, S=100, r=0.01, q=0.02, T=1 (shared/REFERENCE.md).
const LEWIS = [26.774758743998854, 16.070154917028834, 9.024913483457836];
const HESTON = ['--model', 'heston', '--params', 'v0=0.04,kappa=4,theta=0.25,sigma=1,rho=-0.5'];
const STRIP = ['--spot', '100', '--rate', '0.01', '--div', '0.02', '--expiry', '1', '--strikes', '80,100,120', '--type', 'call'];

describe('volfit price --engine mc', () => {
  it('prices Heston within the Monte Carlo error of the published values and reports stderr', async () => {
    const r = await runCli(['price', ...HESTON, ...STRIP, '--engine', 'mc', '--paths', '40000', '--steps', '64', '--backend', 'cpu', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.stderr).toHaveLength(3);
    out.prices.forEach((p: number, i: number) => {
      expect(out.stderr[i]).toBeGreaterThan(0);
      // 3 standard errors plus the QE discretisation bias at 64 steps (measured ~0.01).
      expect(Math.abs(p - LEWIS[i])).toBeLessThan(3 * out.stderr[i] + 0.02);
    });
  });

  it('the same seed gives the same prices (common random numbers)', async () => {
    const args = ['price', ...HESTON, ...STRIP, '--engine', 'mc', '--paths', '4000', '--steps', '16', '--seed', '7', '--backend', 'cpu', '--json'];
    const a = JSON.parse((await runCli(args)).stdout);
    const b = JSON.parse((await runCli(args)).stdout);
    expect(a.prices).toEqual(b.prices);
  });

  it('rough Bergomi needs the Monte Carlo engine: a clear error with COS, a price with MC', async () => {
    const rb = ['--model', 'rbergomi', '--params', 'xi0=0.055,eta=1.9,rho=-0.9,H=0.07', '--spot', '100', '--expiry', '1', '--strikes', '100'];
    const cos = await runCli(['price', ...rb, '--backend', 'cpu']);
    expect(cos.code).toBe(2);
    expect(cos.stderr).toMatch(/--engine mc/);
    const mc = await runCli(['price', ...rb, '--engine', 'mc', '--paths', '4000', '--steps', '32', '--backend', 'cpu', '--json']);
    expect(mc.code, mc.stderr).toBe(0);
    const price = JSON.parse(mc.stdout).prices[0];
    // ATM call of a 23.5 % variance level: between the zero-vol intrinsic and a 50 % vol price.
    expect(price).toBeGreaterThan(3);
    expect(price).toBeLessThan(20);
  });

  it('bad Monte Carlo flags are one-line errors with exit code 2', async () => {
    for (const flag of [['--paths', '0'], ['--steps', '2.5'], ['--seed', '-1']]) {
      const r = await runCli(['price', ...HESTON, ...STRIP, '--engine', 'mc', ...flag, '--backend', 'cpu']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(flag[0]);
    }
  });
});
