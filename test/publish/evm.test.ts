/**
 * volfit's signed updates in a real EVM: contracts/VolFeed.sol compiled with the npm solc and
 * deployed in @ethereumjs/evm; the updates come from `volfit publish` (child process over dist)
 * on a real arbitrage-free SVI fit of the bundled BTC snapshot (volfit normalize, calibrate). Every
 * update is accepted and its vols read back equal the TypeScript evaluator bit for bit and the
 * f64 SVI within 1e-9; tampered, expired, wrongly signed, malleable, replayed, future and
 * out-of-range updates revert with the contract's error. Gas of an update and of a read is
 * printed (figures in README and bench/RESULTS.md). The eSSVI fit of the same snapshot, published
 * as raw SVI, reads back as the eSSVI surface's own vols.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { domainSeparator, parseSignature, serializeSignature, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromWad, toWad, volWad } from '../../src/publish/fixed.js';
import type { UpdatesFile } from '../../src/publish/publish.js';
import { feedDomain, PRIMARY_TYPE, VOL_UPDATE_FIELDS, VOL_UPDATE_TYPES, type VolUpdate } from '../../src/publish/schema.js';
import { loadSurfaceFit } from '../../src/surface/fitJson.js';
import { sviW, type SviRaw } from '../../src/surface/svi.js';
import { distBuilt, spawnCli } from '../cli/spawn.js';
import { compileVolFeed, FeedHarness, type CallResult } from './evm.js';
import { BTC_FILE, BTC_TIME_MS } from './fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'volfit-evm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PUBLISH_AT = BigInt(Math.floor(BTC_TIME_MS / 1000) + 60);
let key: Hex;
let account: PrivateKeyAccount;
let feed: FeedHarness;
let file: UpdatesFile;
let fit: { slices: Array<{ T: number; forward: number; params: SviRaw }> };
let essviFit: unknown;
let essviFile: UpdatesFile;
let essviFeed: FeedHarness;
const gas: Record<string, CallResult[]> = { first: [], replace: [], read: [] };

function message(u: UpdatesFile['updates'][number]): VolUpdate {
  return Object.fromEntries(VOL_UPDATE_FIELDS.map((f) => [f, BigInt(u.message[f])])) as VolUpdate;
}

function sign(msg: VolUpdate, by: PrivateKeyAccount = account, chainId = 1): Promise<Hex> {
  return by.signTypedData({ domain: feedDomain(chainId, feed.addressHex), types: VOL_UPDATE_TYPES, primaryType: PRIMARY_TYPE, message: msg });
}

async function cli(...args: string[]): Promise<string> {
  const r = await spawnCli(args, { timeoutMs: 120_000 });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

beforeAll(async () => {
  expect(distBuilt(), 'dist/ is missing: run npm run build first').toBe(true);
  key = generatePrivateKey();
  account = privateKeyToAccount(key);
  const keyFile = join(dir, 'signer.key');
  writeFileSync(keyFile, `${key}\n`);
  chmodSync(keyFile, 0o600);
  feed = await FeedHarness.deploy(compileVolFeed(), account.address, PUBLISH_AT);
  const quotes = join(dir, 'btc.csv');
  const fitFile = join(dir, 'fit.json');
  const out = join(dir, 'updates.json');
  await cli('normalize', '--input', BTC_FILE, '--underlying', 'BTC', '--out', quotes);
  await cli('calibrate', '--input', quotes, '--model', 'svi', '--no-arbitrage', '--json', '--out', fitFile);
  const now = new Date(Number(PUBLISH_AT) * 1000).toISOString();
  await cli('publish', '--fit', fitFile, '--key', keyFile, '--now', now, '--chain-id', '1', '--verifying-contract', feed.addressHex, '--out', out);
  file = JSON.parse(readFileSync(out, 'utf8'));
  fit = JSON.parse(readFileSync(fitFile, 'utf8'));
  essviFeed = await FeedHarness.deploy(compileVolFeed(), account.address, PUBLISH_AT);
  const essviFitFile = join(dir, 'essvi.json');
  const essviOut = join(dir, 'essvi-updates.json');
  await cli('calibrate', '--input', quotes, '--model', 'essvi', '--json', '--out', essviFitFile);
  await cli('publish', '--fit', essviFitFile, '--key', keyFile, '--now', now, '--chain-id', '1', '--verifying-contract', essviFeed.addressHex, '--out', essviOut);
  essviFile = JSON.parse(readFileSync(essviOut, 'utf8'));
  essviFit = JSON.parse(readFileSync(essviFitFile, 'utf8'));
});

describe('VolFeed in @ethereumjs/evm with volfit publish updates (BTC 2026-01-05, SVI arbitrage-free)', () => {
  it("computes the EIP-712 domain separator viem signs with", async () => {
    expect(await feed.domainSeparator()).toBe(domainSeparator({ domain: file.domain }));
  });

  it('accepts every update, one per fitted expiry', async () => {
    expect(file.updates.length).toBe(fit.slices.length);
    for (const u of file.updates) {
      const r = await feed.submit(message(u), u.signature);
      expect(r.ok, r.error).toBe(true);
      gas.first.push(r);
    }
  });

  it('reads vols equal to the TypeScript evaluator bit for bit and to the f64 SVI within 1e-9, |k| <= 2', async () => {
    let worst = 0;
    for (const [i, u] of file.updates.entries()) {
      const msg = message(u);
      const slice = fit.slices[i];
      const F = fromWad(msg.forward);
      for (let j = 0; j <= 16; j++) {
        const strike = toWad(F * Math.exp(-2 + j / 4));
        const { vol, result } = await feed.getVol(strike, msg.expiry);
        expect(result.ok, result.error).toBe(true);
        expect(vol).toBe(volWad(msg, strike));
        const f64 = Math.sqrt(sviW(slice.params, Math.log(fromWad(strike) / F)) / slice.T);
        worst = Math.max(worst, Math.abs(fromWad(vol!) - f64));
        gas.read.push(result);
      }
    }
    console.info(`[publish] EVM vols vs f64 SVI: max |error| ${worst.toExponential(2)} over ${gas.read.length} reads`);
    expect(worst).toBeLessThanOrEqual(1e-9);
  });

  it('reverts a tampered update (one field changed by 1 wei after signing)', async () => {
    const u = file.updates[0];
    for (const field of ['a', 'confidence', 'forward'] as const) {
      const msg = { ...message(u), [field]: message(u)[field] + 1n, timestamp: message(u).timestamp + 1n };
      const r = await feed.submit(msg, u.signature);
      expect([r.ok, r.error], field).toEqual([false, 'WrongSigner']);
    }
  });

  it('reverts an update signed by another key, or for another chain', async () => {
    const msg = { ...message(file.updates[0]), timestamp: message(file.updates[0]).timestamp + 1n };
    const other = privateKeyToAccount(generatePrivateKey());
    expect((await feed.submit(msg, await sign(msg, other))).error).toBe('WrongSigner');
    expect((await feed.submit(msg, await sign(msg, account, 5))).error).toBe('WrongSigner');
  });

  it('reverts the malleable twin of a valid signature (s in the upper half)', async () => {
    const msg = { ...message(file.updates[0]), timestamp: message(file.updates[0]).timestamp + 1n };
    const sig = parseSignature(await sign(msg));
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const twin = serializeSignature({ r: sig.r, s: `0x${(n - BigInt(sig.s)).toString(16).padStart(64, '0')}`, yParity: 1 - sig.yParity! });
    expect((await feed.submit(msg, twin)).error).toBe('BadSignature');
  });

  it('reverts a replay and accepts a newer, correctly signed update (replacement gas)', async () => {
    const u = file.updates[0];
    expect((await feed.submit(message(u), u.signature)).error).toBe('NotNewer');
    for (const v of file.updates) {
      const msg = { ...message(v), timestamp: message(v).timestamp + 1n };
      const r = await feed.submit(msg, await sign(msg));
      expect(r.ok, r.error).toBe(true);
      gas.replace.push(r);
    }
  });

  it('reverts an expired update and one whose data time is after the block time', async () => {
    const msg = { ...message(file.updates[1]), timestamp: message(file.updates[1]).timestamp + 2n };
    const sig = await sign(msg);
    const saved = feed.blockTime;
    try {
      feed.blockTime = msg.deadline + 1n;
      expect((await feed.submit(msg, sig)).error).toBe('Expired');
      feed.blockTime = msg.timestamp - 1n;
      expect((await feed.submit(msg, sig)).error).toBe('FromTheFuture');
    } finally {
      feed.blockTime = saved;
    }
  });

  it('reverts a correctly signed update outside the ranges, and a read of an unknown expiry', async () => {
    const base = { ...message(file.updates[2]), timestamp: message(file.updates[2]).timestamp + 3n };
    for (const bad of [{ rho: 10n ** 18n }, { sigma: 0n }, { confidence: 10n ** 18n + 1n }, { a: -(10n ** 18n) }, { b: 2n * 10n ** 18n }]) {
      const msg = { ...base, ...bad };
      expect((await feed.submit(msg, await sign(msg))).error, JSON.stringify(Object.keys(bad))).toBe('OutOfRange');
    }
    expect((await feed.getVol(10n ** 22n, 12345n)).result.error).toBe('UnknownExpiry');
  });

  it('costs under 150k gas per update transaction and under 25k per read (cold, as a call from another contract)', () => {
    const stats = (rs: CallResult[]) => {
      const tx = rs.map((r) => Number(r.txGas));
      const ex = rs.map((r) => Number(r.gas));
      return `tx ${Math.min(...tx)}-${Math.max(...tx)} (execution ${Math.min(...ex)}-${Math.max(...ex)})`;
    };
    console.info(`[publish] gas: deploy ${feed.deployGas}; first update per expiry ${stats(gas.first)}; replacement ${stats(gas.replace)}; getVol ${stats(gas.read)}`);
    expect(Math.max(...gas.first.map((r) => Number(r.txGas)))).toBeLessThan(150_000);
    expect(Math.max(...gas.read.map((r) => Number(r.gas)))).toBeLessThan(25_000);
  });
});

describe('VolFeed with the eSSVI fit of the same snapshot (slices published as raw SVI)', () => {
  it("accepts every update; reads equal the TypeScript evaluator bit for bit and the eSSVI surface's own f64 vol within 1e-9", async () => {
    const surface = loadSurfaceFit(essviFit).surface;
    let worst = 0;
    for (const u of essviFile.updates) {
      const msg = message(u);
      const r = await essviFeed.submit(msg, u.signature);
      expect(r.ok, r.error).toBe(true);
      const F = fromWad(msg.forward);
      for (let j = 0; j <= 8; j++) {
        const strike = toWad(F * Math.exp(-2 + j / 2));
        const { vol } = await essviFeed.getVol(strike, msg.expiry);
        expect(vol).toBe(volWad(msg, strike));
        const f64 = Math.sqrt(surface.at(Math.log(fromWad(strike) / F), u.T).w / u.T);
        worst = Math.max(worst, Math.abs(fromWad(vol!) - f64));
      }
    }
    console.info(`[publish] EVM vols (eSSVI as raw SVI) vs the eSSVI surface: max |error| ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1e-9);
  });
});
