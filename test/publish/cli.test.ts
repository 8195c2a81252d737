/**
 * `volfit publish` and `volfit verify-update` as shipped (child processes over dist/), on real
 * fits of the bundled BTC snapshot made by `volfit normalize` and `volfit calibrate`: the JSON
 * contract, exit codes (verify: 1 when any update is invalid), the key from a file or
 * VOLFIT_SIGNER_KEY and never on stdout/stderr, and the bad input: one line, exit 2,
 * nothing written.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distBuilt, spawnCli, type Spawned } from '../cli/spawn.js';
import { BTC_FILE, BTC_TIME_MS } from './fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'volfit-publish-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const key = generatePrivateKey();
const signer = privateKeyToAccount(key).address;
const keyFile = join(dir, 'signer.key');
const NOW = new Date(BTC_TIME_MS + 60_000).toISOString();
const fits = { free: join(dir, 'svi-free.json'), plain: join(dir, 'svi.json'), black: join(dir, 'black.json') };

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Spawned> {
  const base = { ...process.env };
  delete base.VOLFIT_SIGNER_KEY;
  return spawnCli(args, { env: { ...base, ...env }, timeoutMs: 120_000 });
}

async function ok(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Spawned> {
  const r = await run(args, env);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

/** Exit 2, one stderr line matching `re`, and `out` not created. */
async function refused(args: string[], re: RegExp, out?: string, env: NodeJS.ProcessEnv = {}): Promise<Spawned> {
  const r = await run(args, env);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(re);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  if (out) expect(existsSync(out)).toBe(false);
  expect(r.stdout + r.stderr).not.toContain(key.slice(2));
  return r;
}

const publish = (fit: string, ...extra: string[]) => ['publish', '--fit', fit, '--key', keyFile, '--now', NOW, ...extra];

beforeAll(async () => {
  expect(distBuilt(), 'dist/ is missing: run npm run build first').toBe(true);
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  const quotes = join(dir, 'btc.csv');
  await ok(['normalize', '--input', BTC_FILE, '--underlying', 'BTC', '--out', quotes]);
  await ok(['calibrate', '--input', quotes, '--model', 'svi', '--no-arbitrage', '--out', fits.free]);
  await ok(['calibrate', '--input', quotes, '--model', 'svi', '--out', fits.plain]);
  await ok(['calibrate', '--input', quotes, '--model', 'black', '--out', fits.black]);
});

describe('volfit publish | verify-update', () => {
  let updates: string;

  it('publish prints the signed updates JSON on stdout, or writes --out and a line per update', async () => {
    const r = await ok(publish(fits.free, '--chain-id', '1', '--verifying-contract', '0x00000000000000000000000000000000000000aa'));
    const json = JSON.parse(r.stdout);
    expect(json.format).toBe('volfit-vol-feed-updates/1');
    expect(json.signer).toBe(signer);
    expect(json.domain).toEqual({ name: 'volfit VolFeed', version: '1', chainId: 1, verifyingContract: '0x00000000000000000000000000000000000000AA' });
    expect(Object.keys(json.updates[0].message)).toEqual(['expiry', 'a', 'b', 'rho', 'm', 'sigma', 'forward', 'refTau', 'confidence', 'timestamp', 'deadline']);
    expect(json.updates.every((u: { message: Record<string, string> }) => Object.values(u.message).every((v) => /^-?\d+$/.test(v)))).toBe(true);
    updates = join(dir, 'updates.json');
    const w = await ok(publish(fits.free, '--out', updates));
    expect(w.stdout.split('\n')[0]).toMatch(new RegExp(`^${json.updates.length} updates signed by ${signer} \\(svi, data as of 2026-01-05T09:25:11.513Z\\) -> `));
    expect(JSON.parse(readFileSync(updates, 'utf8')).updates.length).toBe(json.updates.length);
  });

  it('verify-update --json: every update valid (exit 0); shape {"updates": [{"expiry", "valid", "reason"}]}', async () => {
    const r = await ok(['verify-update', '--updates', updates, '--signer', signer, '--now', NOW, '--json']);
    const v = JSON.parse(r.stdout);
    expect(Object.keys(v)).toEqual(['updates']);
    for (const u of v.updates) expect(u).toEqual({ expiry: expect.any(Number), valid: true, reason: null });
  });

  it('verify-update exits 1 on a tampered update, another signer, or after the deadline', async () => {
    const f = JSON.parse(readFileSync(updates, 'utf8'));
    f.updates[1].message.confidence = '1000000000000000000';
    const tampered = join(dir, 'tampered.json');
    writeFileSync(tampered, JSON.stringify(f));
    const t = await run(['verify-update', '--updates', tampered, '--now', NOW, '--json']);
    expect(t.code).toBe(1);
    const verdicts = JSON.parse(t.stdout).updates;
    expect(verdicts.filter((u: { valid: boolean }) => !u.valid).map((u: { expiry: number }) => u.expiry)).toEqual([Number(f.updates[1].message.expiry)]);
    const other = await run(['verify-update', '--updates', updates, '--signer', privateKeyToAccount(generatePrivateKey()).address, '--now', NOW, '--json']);
    expect(other.code).toBe(1);
    const late = await run(['verify-update', '--updates', updates, '--now', new Date(BTC_TIME_MS + 3_600_000).toISOString()]);
    expect(late.code).toBe(1);
    expect(late.stdout).toMatch(/INVALID: deadline: expired at 2026-01-05T09:30:11.000Z/);
  });

  it('takes the key from VOLFIT_SIGNER_KEY when --key is absent', async () => {
    const r = await ok(['publish', '--fit', fits.free, '--now', NOW], { VOLFIT_SIGNER_KEY: key });
    expect(JSON.parse(r.stdout).signer).toBe(signer);
    expect(r.stdout + r.stderr).not.toContain(key.slice(2));
  });
});

describe('bad input: one line, exit 2, nothing written', () => {
  const out = join(dir, 'never.json');

  it('a fit of another model', async () => {
    await refused(publish(fits.black, '--out', out), /--fit .*black\.json: model "black": a vol feed publishes SVI slices/, out);
  });

  it('missing expiries', async () => {
    const f = JSON.parse(readFileSync(fits.free, 'utf8'));
    delete f.slices[4].expiry;
    const p = join(dir, 'no-expiry.json');
    writeFileSync(p, JSON.stringify(f));
    await refused(publish(p, '--out', out), /slices\[4\]\.expiry: missing or not an ISO date\/time/, out);
    const g = { ...f, slices: [] };
    writeFileSync(p, JSON.stringify(g));
    await refused(publish(p, '--out', out), /slices must be a non-empty array/, out);
  });

  it('a key file of the wrong format, no key at all', async () => {
    const bad = join(dir, 'bad.key');
    writeFileSync(bad, `${key}ff\n`);
    await refused(['publish', '--fit', fits.free, '--key', bad, '--now', NOW, '--out', out], /--key .*bad\.key: not a private key \(expected 64 hex digits/, out);
    await refused(['publish', '--fit', fits.free, '--now', NOW, '--out', out], /no signing key: give --key <file> or set VOLFIT_SIGNER_KEY/, out);
  });

  it('a deadline in the past: a budget under a second, or data older than the budget', async () => {
    await refused(publish(fits.free, '--deadline', '-5m', '--out', out), /--deadline -5m: a latency budget under one second puts the deadline in the past/, out);
    await refused(publish(fits.free, '--deadline', '0s', '--out', out), /deadline in the past/, out);
    await refused(publish(fits.free, '--deadline', 'soon', '--out', out), /--deadline must be a duration/, out);
    const late = ['publish', '--fit', fits.free, '--key', keyFile, '--now', new Date(BTC_TIME_MS + 600_000).toISOString(), '--out', out];
    await refused(late, /older than the latency budget of 300 s \(--deadline\)/, out);
  });

  it('values that do not fit the fixed-point range', async () => {
    const f = JSON.parse(readFileSync(fits.free, 'utf8'));
    f.slices[0].forward = 5e20;
    const p = join(dir, 'huge.json');
    writeFileSync(p, JSON.stringify(f));
    await refused(publish(p, '--out', out), /slices\[0\] \(expiry 2026-01-07T08:00:00.000Z\): does not fit the fixed-point range: forward/, out);
    // Finite as a double but not times 1e18 (fuzz seed 2020400102: an internal error before).
    f.slices[0].forward = 1e308;
    writeFileSync(p, JSON.stringify(f));
    await refused(publish(p, '--out', out), /slices\[0\] \(expiry 2026-01-07T08:00:00.000Z\): does not fit the fixed-point range: forward/, out);
  });

  it('a surface with arbitrage, unless --allow-arbitrage', async () => {
    await refused(publish(fits.plain, '--out', out), /arbitrage: the surface has 0 butterfly, 3 calendar and 0 Lee violations/, out);
    await ok(publish(fits.plain, '--allow-arbitrage', '--out', out));
    rmSync(out);
  });

  it('flags: chain id, contract address, --now; verify-update: not JSON, not an updates file, a bad --signer', async () => {
    await refused(publish(fits.free, '--chain-id', '0', '--out', out), /--chain-id must be an integer/, out);
    await refused(publish(fits.free, '--verifying-contract', '0x12', '--out', out), /--verifying-contract must be a 20-byte hex address/, out);
    await refused(['publish', '--fit', fits.free, '--key', keyFile, '--now', 'yesterday'], /--now must be an ISO date\/time/);
    const junk = join(dir, 'junk.json');
    writeFileSync(junk, '{"updates": ');
    await refused(['verify-update', '--updates', junk], /--updates .*junk\.json: not JSON/);
    writeFileSync(junk, '{"domain": {"name": "x", "version": "1"}}');
    await refused(['verify-update', '--updates', junk], /updates: must be an array/);
    await refused(['verify-update', '--updates', fits.free, '--signer', 'alice'], /--signer must be a 20-byte hex address/);
  });
});
