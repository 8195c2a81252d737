/** `volfit price`: the issue's command line, JSON in input order, and one-line errors (exit 2). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    const code = await main(['node', 'volfit', ...args]);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
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
