/**
 * `volfit backtest --models black,ssvi --publish-key <file>` as shipped (bin/volfit.js over
 * dist/): ssvi in the --json contract, each day's updates signed by the key's address and
 * accepted by `volfit verify-update` at the day's data time, the report's published section and
 * updates files, a re-render from --db with the same section, the key taken from
 * VOLFIT_SIGNER_KEY as `volfit publish` takes it and never printed; one-line errors.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, describe, expect, it } from 'vitest';
import { distBuilt, spawnCli } from '../cli/spawn.js';

const DAILY = 'data/deribit-btc-daily';
const DATES = ['2026-01-05', '2026-01-06', '2026-01-07'];
const tmp = mkdtempSync(join(tmpdir(), 'volfit-backtest-publish-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const input = join(tmp, 'days');
mkdirSync(input);
for (const d of DATES) copyFileSync(join(DAILY, `BTC_${d}.csv`), join(input, `BTC_${d}.csv`));
const key = generatePrivateKey();
const address = privateKeyToAccount(key).address;
const keyFile = join(tmp, 'signer.key');
writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
const hex = key.slice(2);

describe.skipIf(!distBuilt())('volfit backtest --publish (CLI)', () => {
  it('prints fits.ssvi and published per day; the updates verify at the data time; the report compares them with the next day', async () => {
    const report = join(tmp, 'report');
    const db = join(tmp, 'bt.duckdb');
    const args = ['backtest', '--input', input, '--models', 'black,ssvi', '--backend', 'cpu', '--publish-key', keyFile, '--report', report, '--db', db, '--json'];
    const r = await spawnCli(args, { timeoutMs: 90_000 });
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(hex);
    const j = JSON.parse(r.stdout);
    expect(j.days.map((d: { date: string }) => d.date)).toEqual(DATES);
    for (const d of j.days) {
      const f = d.fits.ssvi;
      expect(Object.keys(f)).toEqual(['params', 'stderr', 'rmse_iv', 'converged', 'route', 'seconds', 'bic', 'slices']);
      expect(f.rmse_iv).toBeGreaterThan(0);
      expect(f.rmse_iv).toBeLessThan(0.05);
      expect(d.published).toMatchObject({ model: 'ssvi', signer: address, updates: f.slices.length, error: null });
      const updates = join(report, 'updates', `${d.date}.json`);
      const v = await spawnCli(['verify-update', '--updates', updates, '--signer', address, '--now', d.published.as_of, '--json'], { timeoutMs: 60_000 });
      expect(v.code).toBe(0);
      const verdicts = JSON.parse(v.stdout).updates as Array<{ valid: boolean }>;
      expect(verdicts.length).toBe(f.slices.length);
      expect(verdicts.every((x) => x.valid)).toBe(true);
    }
    const page = readFileSync(join(report, 'published.html'), 'utf8');
    expect(page).toContain('2026-01-05, published, against 2026-01-06: RMSE');
    expect(page).toContain('2026-01-06, published, against 2026-01-07: RMSE');
    expect(readFileSync(join(report, 'index.html'), 'utf8')).toContain("Published vol-feed updates against the next day's market");

    // Re-rendered from the store without refitting: the same section and files.
    const again = join(tmp, 'again');
    const rr = await spawnCli(['backtest', '--db', db, '--report', again], { timeoutMs: 60_000 });
    expect(rr.code).toBe(0);
    expect(readFileSync(join(again, 'published.html'), 'utf8')).toBe(page);
    expect(readFileSync(join(again, 'updates', '2026-01-07.json'), 'utf8')).toBe(readFileSync(join(report, 'updates', '2026-01-07.json'), 'utf8'));
  }, 120_000);

  it('takes the key from VOLFIT_SIGNER_KEY with --publish', async () => {
    const r = await spawnCli(['backtest', '--input', input, '--to', '2026-01-05', '--models', 'ssvi', '--publish', '--json'], { env: { ...process.env, VOLFIT_SIGNER_KEY: key }, timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(hex);
    expect(JSON.parse(r.stdout).days[0].published).toMatchObject({ signer: address, error: null });
  }, 60_000);

  it('refuses, one line and exit 2: no publishable model, a bad key file, no key at all', async () => {
    const bad = join(tmp, 'bad.key');
    writeFileSync(bad, 'not a key\n');
    const env = { ...process.env, VOLFIT_SIGNER_KEY: '' };
    const cases: Array<[string[], RegExp]> = [
      [['--models', 'black,heston', '--publish-key', keyFile], /--publish: .*add one of ssvi, svi, essvi to --models/],
      [['--models', 'ssvi', '--publish-key', bad], /--publish-key .*bad\.key: not a private key/],
      [['--models', 'ssvi', '--publish'], /no signing key: give --publish-key <file> or set VOLFIT_SIGNER_KEY/],
      [['--models', 'ssvi', '--publish-key', keyFile, '--deadline', '0s'], /--deadline/],
    ];
    for (const [extra, message] of cases) {
      const report = join(tmp, `never-${cases.findIndex((c) => c[0] === extra)}`);
      const r = await spawnCli(['backtest', '--input', input, '--report', report, ...extra], { env, timeoutMs: 30_000 });
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toContain(hex);
      expect(existsSync(report)).toBe(false);
    }
  }, 120_000);
});
