/**
 * publish and verify as a library on real BTC fits (2026-01-05 snapshot): one update per expiry
 * whose fields are the fit's slices in wad, times from the quotes (not the clock), EIP-712
 * signatures that viem verifies, verify's verdicts on tampered / expired / foreign / out-of-range
 * updates, and every refusal of the bad-input list as a PublishError naming the field.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyTypedData } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CalibrationResult } from '../../src/calibrator/result.js';
import { PublishError } from '../../src/publish/errors.js';
import { toWad, WAD } from '../../src/publish/fixed.js';
import { KEY_ENV, signerAccount } from '../../src/publish/key.js';
import { buildUpdates, publishFit, type PublishOptions, type UpdatesFile } from '../../src/publish/publish.js';
import { PRIMARY_TYPE, VOL_UPDATE_FIELDS, VOL_UPDATE_TYPES, type VolUpdate } from '../../src/publish/schema.js';
import { verifyUpdates } from '../../src/publish/verify.js';
import { btcFit, BTC_TIME_MS } from './fixture.js';

const account = privateKeyToAccount(generatePrivateKey());
const OPTS: PublishOptions = { nowMs: BTC_TIME_MS + 60_000, budgetSeconds: 300, halfLifeSeconds: 21600, chainId: 1, verifyingContract: '0x00000000000000000000000000000000000000aa' };
let svi: CalibrationResult;
let file: UpdatesFile;
const dir = mkdtempSync(join(tmpdir(), 'volfit-publish-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  svi = await btcFit('svi', true);
  file = await publishFit(svi, account, OPTS);
});

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));
const msg = (u: UpdatesFile['updates'][number]) => Object.fromEntries(VOL_UPDATE_FIELDS.map((f) => [f, BigInt(u.message[f])])) as VolUpdate;

describe('publish on the BTC SVI fit (arbitrage-free)', () => {
  it('writes one update per expiry: the slice in wad, refTau = T, timestamp = the quotes time, deadline = timestamp + budget', () => {
    expect(file.updates.length).toBe(svi.slices!.length);
    const ts = BigInt(Math.floor(BTC_TIME_MS / 1000));
    file.updates.forEach((u, i) => {
      const s = svi.slices![i];
      const m = msg(u);
      expect(m.expiry).toBe(BigInt(Date.parse(s.expiry) / 1000));
      for (const p of ['a', 'b', 'rho', 'm', 'sigma'] as const) expect(m[p]).toBe(toWad(s.params[p]));
      expect(m.forward).toBe(toWad(s.forward));
      expect(m.refTau).toBe(toWad(s.T));
      expect(m.timestamp).toBe(ts);
      expect(m.deadline).toBe(ts + 300n);
      expect(m.confidence > 0n && m.confidence <= WAD).toBe(true);
      expect(u.max_vol_error).toBeLessThanOrEqual(1e-9);
    });
    expect(file.as_of).toBe(new Date(BTC_TIME_MS).toISOString());
    expect(file.published_at).toBe(new Date(OPTS.nowMs).toISOString());
  });

  it('signs EIP-712 typed data that viem verifies for the signer', async () => {
    for (const u of file.updates) {
      const ok = await verifyTypedData({ address: account.address, domain: file.domain, types: VOL_UPDATE_TYPES, primaryType: PRIMARY_TYPE, message: msg(u), signature: u.signature });
      expect(ok).toBe(true);
    }
  });

  it('measures a lower confidence for a worse fit (SSVI) and for older data', async () => {
    const ssvi = buildUpdates(await btcFit('ssvi'), OPTS).updates;
    const later = buildUpdates(svi, { ...OPTS, nowMs: BTC_TIME_MS + 240_000, halfLifeSeconds: 600 }).updates;
    const own = buildUpdates(svi, OPTS).updates;
    const mean = (us: typeof own) => us.reduce((s, u) => s + u.confidence.posterior, 0) / us.length;
    expect(mean(ssvi)).toBeLessThan(mean(own));
    own.forEach((u, i) => expect(later[i].confidence.staleness).toBeLessThan(u.confidence.staleness));
  });
});

describe('verify', () => {
  const now = OPTS.nowMs;
  it('finds every fresh update valid', async () => {
    const v = await verifyUpdates(file, { nowMs: now, signer: account.address });
    expect(v.every((x) => x.valid && x.reason === null)).toBe(true);
    expect(v.map((x) => x.expiry)).toEqual(file.updates.map((u) => Number(u.message.expiry)));
  });

  it('finds tampered, expired, foreign and out-of-range updates invalid, with the reason', async () => {
    const f = clone(file);
    f.updates[0].message.a = (BigInt(f.updates[0].message.a) + 1n).toString();
    const v = await verifyUpdates(f, { nowMs: now });
    expect(v[0].valid).toBe(false);
    expect(v[0].reason).toMatch(/^signer: signed by 0x[0-9a-fA-F]{40}, not/);
    expect(v.slice(1).every((x) => x.valid)).toBe(true);
    const late = await verifyUpdates(file, { nowMs: now + 600_000 });
    expect(late.every((x) => !x.valid && /^deadline: expired/.test(x.reason!))).toBe(true);
    const early = await verifyUpdates(file, { nowMs: BTC_TIME_MS - 60_000 });
    expect(early.every((x) => /^timestamp: data time/.test(x.reason!))).toBe(true);
    const other = await verifyUpdates(file, { nowMs: now, signer: privateKeyToAccount(generatePrivateKey()).address });
    expect(other.every((x) => /^signer:/.test(x.reason!))).toBe(true);
    // Correctly signed but outside the ranges (|rho| = 1).
    const bad = { ...msg(file.updates[1]), rho: WAD };
    const g = clone(file);
    g.updates[1].message.rho = WAD.toString();
    g.updates[1].signature = await account.signTypedData({ domain: file.domain, types: VOL_UPDATE_TYPES, primaryType: PRIMARY_TYPE, message: bad });
    expect((await verifyUpdates(g, { nowMs: now }))[1].reason).toMatch(/^range: \|rho\|/);
    const h = clone(file);
    (h.updates[2].message as Record<string, string>).sigma = '1.5';
    expect((await verifyUpdates(h, { nowMs: now }))[2].reason).toBe('message.sigma: not a decimal integer string');
  });

  it('refuses a file that is not an updates file', async () => {
    await expect(verifyUpdates([], { nowMs: now })).rejects.toThrow(PublishError);
    await expect(verifyUpdates({ ...file, updates: 3 }, { nowMs: now })).rejects.toThrow(/^updates: must be an array/);
    await expect(verifyUpdates({ ...file, domain: { name: 1 } }, { nowMs: now })).rejects.toThrow(/^domain:/);
    const { signer: _, ...noSigner } = file;
    await expect(verifyUpdates(noSigner, { nowMs: now })).rejects.toThrow(/give --signer/);
  });
});

describe('refusals (PublishError, one line naming the field)', () => {
  const refuse = (json: unknown, re: RegExp, opts: Partial<PublishOptions> = {}) => {
    expect(() => buildUpdates(json, { ...OPTS, ...opts })).toThrow(PublishError);
    expect(() => buildUpdates(json, { ...OPTS, ...opts })).toThrow(re);
  };

  it('another model, a slice without its expiry, a residual without its time', () => {
    refuse({ ...clone(svi), model: 'heston' }, /^model "heston": a vol feed publishes SVI slices/);
    const noExpiry = clone(svi);
    delete (noExpiry.slices![3] as { expiry?: string }).expiry;
    refuse(noExpiry, /^slices\[3\]\.expiry: missing/);
    const noTime = clone(svi);
    delete noTime.residuals[5].timestamp;
    refuse(noTime, /^residuals\[5\]\.timestamp: the fit carries no market-data time/);
    refuse({ ...clone(svi), slices: [] }, /^slices must be a non-empty array/);
  });

  it('a surface with arbitrage unless allowed', async () => {
    const plain = await btcFit('svi');
    expect(plain.arbitrage!.free).toBe(false);
    refuse(plain, /^arbitrage: the surface has 0 butterfly, \d+ calendar/);
    expect(buildUpdates(plain, { ...OPTS, allowArbitrage: true }).updates.length).toBe(plain.slices!.length);
  });

  it('data older than the latency budget, data after the publish time, a budget under a second', () => {
    refuse(svi, /are 301 s old at .*older than the latency budget of 300 s/, { nowMs: BTC_TIME_MS + 301_000 });
    refuse(svi, /is after the publish time/, { nowMs: BTC_TIME_MS - 10_000 });
    refuse(svi, /a deadline in the past/, { budgetSeconds: 0 });
  });

  it('values outside the fixed-point ranges', () => {
    const huge = clone(svi);
    huge.slices![2].forward = 1e21;
    refuse(huge, /^slices\[2\] \(expiry .*\): does not fit the fixed-point range: forward/);
    const long = clone(svi);
    long.slices!.forEach((s) => (s.T *= 30));
    long.residuals.forEach((r) => (r.expiry *= 30));
    refuse(long, /refTau .* does not fit uint64/);
  });
});

describe('signing key', () => {
  it('reads 64 hex digits from a file (0x optional, whitespace ignored) or from the environment', () => {
    const key = generatePrivateKey();
    const file1 = join(dir, 'k1');
    writeFileSync(file1, `  ${key.slice(2).toUpperCase()}\n`);
    expect(signerAccount(file1).address).toBe(privateKeyToAccount(key).address);
    expect(signerAccount(undefined, { [KEY_ENV]: key }).address).toBe(privateKeyToAccount(key).address);
  });

  it('refuses a wrong format, the zero key, no key, without echoing the content', () => {
    const secret = generatePrivateKey().slice(0, 65);
    const bad = join(dir, 'k2');
    writeFileSync(bad, secret);
    expect(() => signerAccount(bad)).toThrow(/not a private key \(expected 64 hex digits/);
    try {
      signerAccount(bad);
    } catch (e) {
      expect((e as Error).message).not.toContain(secret.slice(2, 20));
    }
    expect(() => signerAccount(undefined, { [KEY_ENV]: `0x${'0'.repeat(64)}` })).toThrow(/not a valid secp256k1 private key/);
    expect(() => signerAccount(undefined, {})).toThrow(`give --key <file> or set ${KEY_ENV}`);
    expect(() => signerAccount(join(dir, 'missing'))).toThrow(/cannot read \(ENOENT\)/);
  });
});
