/** `volfit calibrate` end to end: canonical CSV in, fit JSON out, warm start and prior from that JSON, one-line errors. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli/run.js';
import { merton } from '../../src/models/index.js';
import { priceGrid, surfaceGrid } from './helpers.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runCli(args);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

describe('volfit calibrate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'volfit-calibrate-'));
  const truth = Float64Array.from([0.2, 0.8, -0.15, 0.2]);

  it('fits a canonical CSV, writes a fit usable as --start and --prior, and refuses a prior of another model', async () => {
    const quotes = await priceGrid(merton, truth, surfaceGrid({ expiries: 3, strikesPerExpiry: 5, atmVol: 0.25 }));
    const csv = ['expiry,strike,type,price,forward,discount', ...quotes.map((q) => `${q.T},${q.strike},${q.isCall ? 'call' : 'put'},${q.price},${q.forward},${q.discount}`)];
    csv.push('0.5,abc,call,1,100,0.99'); // a bad row: excluded with its field, not fatal
    const input = join(dir, 'quotes.csv');
    writeFileSync(input, csv.join('\n') + '\n');
    const fitPath = join(dir, 'fit.json');
    const a = await run(['calibrate', '--input', input, '--model', 'merton', '--backend', 'cpu', '--json', '--out', fitPath]);
    expect(a.code).toBe(0);
    const fit = JSON.parse(a.out);
    expect(JSON.parse(readFileSync(fitPath, 'utf8'))).toEqual(fit);
    for (const k of ['model', 'params', 'stderr', 'rmse_iv', 'rmse_price', 'objective', 'iterations', 'evaluations', 'route', 'converged', 'backend', 'seconds', 'quotes', 'residuals']) {
      expect(fit).toHaveProperty(k);
    }
    merton.params.forEach((s, i) => expect(Math.abs(fit.params[s.name] - truth[i]) / truth[i]).toBeLessThan(1e-4));
    expect(fit.quotes.excluded).toEqual([{ row: 16, reason: expect.stringMatching(/strike/) }]);

    const warm = await run(['calibrate', '--input', input, '--model', 'merton', '--backend', 'cpu', '--start', fitPath, '--json']);
    expect(warm.code).toBe(0);
    expect(JSON.parse(warm.out).route.reason).toMatch(/warm start/);

    const map = await run(['calibrate', '--input', input, '--model', 'merton', '--backend', 'cpu', '--prior', fitPath]);
    expect(map.code).toBe(0);
    expect(map.out).toMatch(/merton: converged/);

    const wrong = await run(['calibrate', '--input', input, '--model', 'heston', '--backend', 'cpu', '--prior', fitPath]);
    expect(wrong.code).toBe(2);
    expect(wrong.err).toMatch(/error: .*prior is a merton fit, but the model being calibrated is heston\n$/);
  });

  it('gives one-line errors for an empty quote set and bad --start', async () => {
    const empty = join(dir, 'empty.csv');
    writeFileSync(empty, 'expiry,strike,type,price,forward\n');
    const r = await run(['calibrate', '--input', empty, '--model', 'heston', '--backend', 'cpu']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/error: .*(empty|no quotes|no data)/i);
    const s = await run(['calibrate', '--input', empty, '--model', 'heston', '--backend', 'cpu', '--start', 'kappa=x']);
    expect(s.code).toBe(2);
    expect(s.err).toMatch(/--start: kappa='x' is not a number/);
  });
});
