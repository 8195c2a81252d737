/**
 * Fuzzing every command's input path in-process: CSV cells, headers, delimiters and line ends,
 * flags, and fit JSON for --start / --prior / report. For every case: exit code 0 or 2, never a
 * stack trace or an "internal error", never a hang, an error is one line, and no NaN or Infinity
 * in any output (JSON or CSV). 10,000 cases a run (VOLFIT_FUZZ_SCALE scales them); the seed is
 * the run's test seed (replay with VOLFIT_TEST_SEED).
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run.js';
import { testSeed } from '../helpers/random.js';
import { rng } from '../helpers/random.js';
import { syntheticSurface } from '../report/fixture.js';
import { canonicalCsv, flags, flagValue, mutatedFit, nastyCell, venueCsv } from './arbitraries.js';

const SCALE = Number(process.env.VOLFIT_FUZZ_SCALE ?? 1);
// calibrate cases cost ~1 s each (real fits); the cheap readers take most of the 10,000.
const RUNS = { iv: 4000, normalize: 4000, price: 1250, calibrate: 150, report: 600 };
const runs = (k: keyof typeof RUNS) => Math.max(1, Math.round(RUNS[k] * SCALE));
// A real hang never ends; a slow case on a loaded 2-core machine may take tens of seconds.
const CASE_TIMEOUT_MS = 120_000;

const dir = mkdtempSync(join(tmpdir(), 'volfit-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

/** Output places, good and bad: a file, a missing folder, a folder, /proc, the input itself. */
const outPath = fc.constantFrom<string | null>(null, null, null, 'out.txt', 'missing/dir/out.txt', '.', '/proc/volfit-fuzz', 'in.csv');

async function runChecked(args: string[], what: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${what} did not finish in ${CASE_TIMEOUT_MS} ms: volfit ${args.join(' ')}`)), CASE_TIMEOUT_MS);
  });
  try {
    const r = await Promise.race([runCli(args), timeout]);
    const ctx = `volfit ${args.join(' ')}\nstderr: ${r.stderr.slice(0, 600)}`;
    expect([0, 2], ctx).toContain(r.code);
    expect(r.stderr, ctx).not.toMatch(/internal error|\n\s+at .+:\d+:\d+\)?/);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('volfit: error:'));
    if (r.code === 2) expect(errors.length, ctx).toBe(1);
    // A bare NaN / Infinity as a CSV cell or JSON token; echoes of bad input inside a quoted
    // message ("bid \"-Infinity\" is not a number") are fine.
    expect(r.stdout, ctx).not.toMatch(/(^|[,:[\s])-?(NaN|Infinity)(?=[,\]}\s]|$)/m);
    return r;
  } finally {
    clearTimeout(timer);
  }
}

function resolveOut(out: string | null): string[] {
  if (out === null) return [];
  return ['--out', out.startsWith('/') ? out : join(dir, out)];
}

/** A JSON stdout parses; numbers in `params` are finite (JSON writes NaN as null). */
function checkJson(stdout: string, ctx: string): void {
  for (const line of stdout.trim().split('\n').length > 1 && stdout.trim().startsWith('{"') ? stdout.trim().split('\n') : [stdout]) {
    const v = JSON.parse(line);
    const fits = Array.isArray(v) ? v : [v];
    for (const f of fits) {
      if (f && typeof f === 'object' && f.params) for (const [k, x] of Object.entries(f.params)) expect(Number.isFinite(x), `${ctx}: params.${k}`).toBe(true);
    }
  }
}

let quotesCsv = '';
let fitJson: object = {};

beforeAll(async () => {
  const s = syntheticSurface(rng(12345));
  const lines = s.csv.trim().split('\n');
  quotesCsv = file('quotes.csv', [lines[0], ...lines.slice(1).filter((_, i) => i % 3 === 0).slice(0, 14)].join('\n') + '\n');
  const r = await runCli(['calibrate', '--input', quotesCsv, '--model', 'heston', '--backend', 'cpu', '--json', '--start', Object.entries(s.truth).map(([k, v]) => `${k}=${v * 1.05}`).join(',')]);
  expect(r.code, r.stderr).toBe(0);
  fitJson = JSON.parse(r.stdout);
}, 120_000);

describe('CLI fuzz: no stack trace, no hang, no NaN, exit 0 or 2', () => {
  it('iv: random canonical CSVs and read flags', { timeout: 900_000 }, async () => {
    const readFlags = flags({ '--as-of': flagValue('iso'), '--spot': flagValue('positive'), '--rate': flagValue('number'), '--div': flagValue('number') });
    await fc.assert(
      fc.asyncProperty(canonicalCsv, readFlags, fc.constantFrom('csv', 'json', 'xml'), outPath, async (csv, extra, format, out) => {
        const input = file('in.csv', csv);
        const r = await runChecked(['iv', '--input', input, '--backend', 'cpu', '--format', format, ...extra, ...resolveOut(out)], 'iv');
        if (r.code === 0 && format === 'json' && out === null) checkJson(r.stdout, 'iv');
      }),
      { seed: testSeed, numRuns: runs('iv') },
    );
  });

  it('normalize: venue files with broken cells, canonical files, and filter flags', { timeout: 900_000 }, async () => {
    const input = fc.oneof(
      venueCsv('data/deribit-btc-daily/BTC_2026-01-05.csv', 5),
      venueCsv('data/deribit-btc-eth-snapshot-2026-01-05/deribit_options_snapshot_20260105T153329Z.csv', 11),
      venueCsv('data/spx-2025-10-01-cboe-long-dated/spx_2025-10-01_cboe_chain.csv', 13),
      canonicalCsv,
    );
    const filterFlags = flags({
      '--venue': fc.constantFrom('auto', 'deribit', 'cboe', 'canonical', 'binance'),
      '--underlying': fc.constantFrom('BTC', 'ETH', 'btc', 'SOL', ''),
      '--as-of': flagValue('iso'),
      '--min-days': flagValue('positive'),
      '--max-spread': flagValue('positive'),
      '--moneyness': fc.oneof(fc.constantFrom('0.5,2', '0.8,1.2', '2,0.5', '1', '0,0'), nastyCell),
      '--max-age': flagValue('positive'),
      '--keep-itm': null,
      '--weights': fc.oneof(fc.constantFrom('spread,vega', 'none', 'open_interest,staleness', 'vega,bogus'), nastyCell),
      '--half-life': flagValue('positive'),
      '--parity-band': flagValue('positive'),
      '--json': null,
    });
    await fc.assert(
      fc.asyncProperty(input, filterFlags, outPath, async (csv, extra, out) => {
        const p = file('in.csv', csv);
        const r = await runChecked(['normalize', '--input', p, ...extra, ...resolveOut(out)], 'normalize');
        if (r.code === 0 && extra.includes('--json')) checkJson(r.stdout, 'normalize');
      }),
      { seed: testSeed, numRuns: runs('normalize') },
    );
  });

  it('price: model parameters, strikes and quote files', { timeout: 900_000 }, async () => {
    const params = fc.oneof(
      fc.constantFrom('v0=0.04,kappa=4,theta=0.25,sigma=1,rho=-0.5', 'vol=0.2,lambda=0.5,muJ=-0.1,sigmaJ=0.15', 'v0=0.04,kappa=2,theta=0.04,sigma=0.5,rho=-0.7,lambda=0.3,muJ=-0.1,sigmaJ=0.1'),
      fc.array(fc.tuple(fc.constantFrom('v0', 'kappa', 'theta', 'sigma', 'rho', 'vol', 'lambda', 'muJ', 'sigmaJ', 'x', ''), fc.oneof(flagValue('positive'), flagValue('number'))), { maxLength: 9 }).map((kv) => kv.map(([k, v]) => `${k}=${v}`).join(',')),
      nastyCell,
    );
    const where = fc.oneof(
      fc.tuple(flagValue('positive'), flagValue('list'), fc.constantFrom('call', 'put', 'straddle')).map(([T, K, t]) => ['--expiry', T, '--strikes', K, '--type', t]),
      canonicalCsv.map((csv) => ['--input', file('in.csv', csv)]),
      fc.constant([] as string[]),
    );
    const extra = flags({ '--spot': flagValue('positive'), '--rate': flagValue('number'), '--div': flagValue('number'), '--json': null });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('heston', 'bates', 'merton', 'black', ''), params, where, extra, outPath, async (model, p, w, e, out) => {
        const r = await runChecked(['price', '--model', model, '--params', p, ...w, ...e, '--backend', 'cpu', ...resolveOut(out)], 'price');
        if (r.code === 0 && e.includes('--json') && out === null) checkJson(r.stdout, 'price');
      }),
      { seed: testSeed, numRuns: runs('price') },
    );
  });

  it('calibrate: --start / --prior fit JSON, start strings, quote files and flags', { timeout: 1_800_000 }, async () => {
    const start = fc.oneof(
      mutatedFit(fitJson).map((j) => file('start.json', j)),
      fc.array(fc.tuple(fc.constantFrom('v0', 'kappa', 'theta', 'sigma', 'rho', 'lambda', 'nope'), fc.oneof(flagValue('positive'), flagValue('number'))), { maxLength: 5 }).map((kv) => kv.map(([k, v]) => `${k}=${v}`).join(',')),
    );
    const input = fc.oneof({ weight: 3, arbitrary: fc.constant(quotesCsv) }, { weight: 1, arbitrary: canonicalCsv.map((csv) => file('in.csv', csv)) });
    const extra = flags({
      '--start': start,
      '--prior': mutatedFit(fitJson).map((j) => file('prior.json', j)),
      '--objective': fc.constantFrom('iv', 'price', 'vega'),
      '--route': fc.constantFrom('auto', 'lm', 'global', 'magic'),
      '--feller': null,
      '--json': null,
    });
    await fc.assert(
      // Bates cold fits take ~10 s each (staged route and DE on 8 parameters): bench territory, not fuzz.
      fc.asyncProperty(fc.constantFrom('heston', 'heston', 'merton', 'svi'), input, extra, outPath, async (model, inp, e, out) => {
        const r = await runChecked(['calibrate', '--input', inp, '--model', model, '--backend', 'cpu', ...e, ...resolveOut(out)], 'calibrate');
        if (r.code === 0 && e.includes('--json')) checkJson(r.stdout, 'calibrate');
      }),
      { seed: testSeed, numRuns: runs('calibrate') },
    );
  });

  it('report: mutated fit JSON against the quotes', { timeout: 1_800_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(mutatedFit(fitJson), fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: canonicalCsv }), outPath, async (fit, csv, out) => {
        const fitFile = file('fit.json', fit);
        const quotes = csv === null ? quotesCsv : file('in.csv', csv);
        await runChecked(['report', '--fit', fitFile, '--quotes', quotes, '--bootstrap', '0', '--backend', 'cpu', '--quiet', ...resolveOut(out ?? 'report')], 'report');
      }),
      { seed: testSeed, numRuns: runs('report') },
    );
  });
});
