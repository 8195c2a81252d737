/**
 * Fuzzing `volfit publish` (mutated fit JSON, flag values) and `volfit verify-update` (mutated
 * updates files) in-process: exit 0 or 2 for publish, 0, 1 or 2 for verify-update; never a stack
 * trace or an internal error; an error is one line; publish never writes --out when it fails.
 * The seed is the run's test seed (replay with VOLFIT_TEST_SEED).
 */
import fc from 'fast-check';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run.js';
import { mutatedFit } from '../fuzz/arbitraries.js';
import { testSeed } from '../helpers/random.js';
import { btcFit, BTC_TIME_MS } from './fixture.js';

const RUNS = Math.max(1, Math.round(500 * Number(process.env.VOLFIT_FUZZ_SCALE ?? 1)));
const dir = mkdtempSync(join(tmpdir(), 'volfit-publish-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const keyFile = join(dir, 'k');
const NOW = new Date(BTC_TIME_MS + 60_000).toISOString();
let fit: Record<string, unknown>;
let updates: Record<string, unknown>;

function check(r: { code: number; stdout: string; stderr: string }, codes: number[], ctx: string): void {
  const c = `${ctx}\nstderr: ${r.stderr.slice(0, 600)}`;
  expect(codes, c).toContain(r.code);
  expect(r.stderr, c).not.toMatch(/internal error|\n\s+at .+:\d+:\d+\)?/);
  if (r.code === 2) expect(r.stderr.trim().split('\n'), c).toHaveLength(1);
}

beforeAll(async () => {
  writeFileSync(keyFile, generatePrivateKey());
  // Three expiries keep a case fast; residuals of the others are simply not matched.
  const full = (await btcFit('svi', true)) as unknown as Record<string, unknown>;
  const slices = (full.slices as Array<{ T: number }>).slice(0, 3);
  const Ts = new Set(slices.map((s) => s.T));
  fit = { ...full, slices, residuals: (full.residuals as Array<{ expiry: number }>).filter((r) => Ts.has(r.expiry)) };
  const fitFile = join(dir, 'fit.json');
  writeFileSync(fitFile, JSON.stringify(fit));
  const r = await runCli(['publish', '--fit', fitFile, '--key', keyFile, '--now', NOW]);
  expect(r.code, r.stderr).toBe(0);
  updates = JSON.parse(r.stdout);
});

describe('fuzz: publish and verify-update never crash', () => {
  it(`publish: mutated fits and flags (${RUNS} cases)`, async () => {
    const flag = fc.constantFrom<string[]>([], ['--deadline', '1s'], ['--deadline', '99999d'], ['--deadline', '5x'], ['--half-life', '0'], ['--half-life', '1e-300'], ['--chain-id', '1e300'], ['--allow-arbitrage'], ['--now', '2026-01-05T09:25:00Z']);
    await fc.assert(
      fc.asyncProperty(mutatedFit(fit), flag, async (text, extra) => {
        const f = join(dir, 'in.json');
        const out = join(dir, 'out.json');
        writeFileSync(f, text);
        rmSync(out, { force: true });
        const args = ['publish', '--fit', f, '--key', keyFile, '--now', NOW, ...extra, '--out', out];
        const r = await runCli(args);
        check(r, [0, 2], `volfit ${args.join(' ')}\nfit: ${text.slice(0, 300)}`);
        if (r.code !== 0) expect(existsSync(out)).toBe(false);
      }),
      { seed: testSeed, numRuns: RUNS },
    );
  });

  it(`verify-update: mutated updates files (${RUNS} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(mutatedFit(updates), async (text) => {
        const f = join(dir, 'u.json');
        writeFileSync(f, text);
        const args = ['verify-update', '--updates', f, '--now', NOW, '--json'];
        const r = await runCli(args);
        check(r, [0, 1, 2], `volfit ${args.join(' ')}\nfile: ${text.slice(0, 300)}`);
        if (r.code !== 2) expect(Object.keys(JSON.parse(r.stdout))).toEqual(['updates']);
      }),
      { seed: testSeed, numRuns: RUNS },
    );
  });
});
