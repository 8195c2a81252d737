/**
 * A surface fit (calibrate --model svi|ssvi|essvi --json) -> one signed vol-feed update per
 * expiry (schema.ts), refusing what a feed must not publish: another model, a slice without an
 * expiry, a surface with arbitrage (unless allowed), data older than the latency budget, a value
 * outside the fixed-point ranges.
 *
 * Times: an update's `timestamp` is its market data's time, the latest quote time of the slice
 * (the fit's residuals carry each quote's `timestamp`), not the publish time; `deadline` =
 * timestamp + the latency budget. Publishing when now > deadline (the data are older than the
 * budget) is refused, as is data time after now.
 */
import type { PrivateKeyAccount } from 'viem/accounts';
import { isoUtc, parseIsoUtc } from '../market/time.js';
import { loadSurfaceFit, SurfaceFitJsonError } from '../surface/fitJson.js';
import { powerLawPsi, ssviToRaw, type SsviSliceParams } from '../surface/ssvi.js';
import { sviW, type SviRaw } from '../surface/svi.js';
import { pooledNoise, sliceConfidence, type Confidence, type PosteriorSlice, type SliceQuote } from './confidence.js';
import { PublishError } from './errors.js';
import { fromWad, toWad, volWad } from './fixed.js';
import { feedDomain, messageJson, PRIMARY_TYPE, rangeProblem, VOL_UPDATE_TYPES, type FeedDomain, type VolUpdate, type VolUpdateField } from './schema.js';

export const UPDATES_FORMAT = 'volfit-vol-feed-updates/1';

export interface PublishOptions {
  /** Publish time (ms since the epoch). */
  nowMs: number;
  /** Oracle latency budget in seconds: deadline = data time + budget. */
  budgetSeconds: number;
  /** Staleness half-life in seconds (the normalizer's, 6 hours by default). */
  halfLifeSeconds: number;
  chainId?: number;
  verifyingContract?: `0x${string}`;
  allowArbitrage?: boolean;
}

/** One signed update as updates.json holds it. */
export interface SignedUpdate {
  expiry_iso: string;
  T: number;
  message: Record<VolUpdateField, string>;
  signature: `0x${string}`;
  confidence: Confidence;
  /** Largest |fixed-point vol - f64 SVI vol| over k in [-2, 2] (81 points). */
  max_vol_error: number;
}

export interface UpdatesFile {
  format: string;
  domain: FeedDomain;
  primaryType: string;
  types: typeof VOL_UPDATE_TYPES;
  signer: `0x${string}`;
  model: string;
  published_at: string;
  as_of: string;
  latency_budget_seconds: number;
  half_life_seconds: number;
  updates: SignedUpdate[];
}

/** A slice ready to publish: raw SVI, its quotes, where it came from. */
interface PublishSlice extends PosteriorSlice {
  index: number;
  forward: number;
  expiryMs: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The slice's SSVI parameters from the fit JSON (the loader has checked them). */
function ssviOf(json: Obj, s: Obj): SsviSliceParams {
  const p = s.params as Obj;
  const own = isObj(s.ssvi) ? s.ssvi : {};
  const pick = (key: string) => (p[key] ?? own[key]) as number | undefined;
  const theta = pick('theta') as number;
  if (json.model === 'ssvi') {
    const g = (isObj(json.params) && Object.keys(json.params).length > 0 ? json.params : json.global) as Obj;
    return { theta, rho: g.rho as number, psi: powerLawPsi(theta, g.eta as number, g.gamma as number).psi };
  }
  const phi = p.phi as number | undefined;
  const psi = pick('psi') ?? theta * (phi as number);
  return { theta, rho: pick('rho') as number, psi };
}

/** The residuals of slice i (same T), as quotes with k and time. */
function sliceQuotes(residuals: Obj[], i: number, T: number, forward: number): SliceQuote[] {
  const out: SliceQuote[] = [];
  residuals.forEach((r, j) => {
    const t = typeof r.T === 'number' ? r.T : r.expiry;
    if (typeof t !== 'number' || Math.abs(t - T) > 1e-12 * T) return;
    const field = `residuals[${j}]`;
    const strike = r.strike;
    const iv = r.market_iv;
    const weight = r.weight ?? 1;
    if (typeof strike !== 'number' || !(strike > 0)) throw new PublishError(`${field}.strike must be a positive number`);
    if (typeof iv !== 'number' || !(iv > 0) || !Number.isFinite(iv)) throw new PublishError(`${field}.market_iv must be a positive number`);
    if (typeof weight !== 'number' || !(weight >= 0) || !Number.isFinite(weight)) throw new PublishError(`${field}.weight must be a non-negative number`);
    const ts = typeof r.timestamp === 'string' ? parseIsoUtc(r.timestamp) : null;
    if (ts === null) {
      throw new PublishError(
        `${field}.timestamp: the fit carries no market-data time for this quote (refit with volfit calibrate from quotes with a timestamp column, e.g. volfit normalize's output)`,
      );
    }
    out.push({ k: Math.log(strike / forward), iv, weight, timeMs: ts });
  });
  if (out.length === 0) throw new PublishError(`slices[${i}] (T ${T}): no quote of this expiry in the fit's residuals; the confidence is measured from them`);
  return out;
}

/** Reads and checks a fit's JSON into the slices to publish. */
export function publishSlices(json: unknown, allowArbitrage = false): { model: string; slices: PublishSlice[] } {
  if (!isObj(json)) throw new PublishError('the fit must be a JSON object');
  const model = json.model;
  if (model !== 'svi' && model !== 'ssvi' && model !== 'essvi') {
    throw new PublishError(`model ${JSON.stringify(model ?? null)}: a vol feed publishes SVI slices; give a fit of calibrate --model svi, ssvi or essvi`);
  }
  try {
    loadSurfaceFit(json);
  } catch (e) {
    if (e instanceof SurfaceFitJsonError) throw new PublishError(e.message);
    throw e;
  }
  const arb = json.arbitrage;
  if (!allowArbitrage) {
    if (!isObj(arb) || typeof arb.free !== 'boolean') throw new PublishError('arbitrage: the fit carries no arbitrage report; refit, or give --allow-arbitrage');
    if (!arb.free) {
      const n = (key: string) => (Array.isArray(arb[key]) ? (arb[key] as unknown[]).length : 0);
      throw new PublishError(
        `arbitrage: the surface has ${n('butterfly')} butterfly, ${n('calendar')} calendar and ${n('lee')} Lee violations; refit arbitrage-free (calibrate --no-arbitrage) or give --allow-arbitrage`,
      );
    }
  }
  if (!Array.isArray(json.residuals) || json.residuals.length === 0) {
    throw new PublishError("residuals: the fit has no residuals (the quotes a confidence is measured from); publish calibrate's --json output");
  }
  const residuals = json.residuals.map((r, j) => {
    if (!isObj(r)) throw new PublishError(`residuals[${j}] must be an object`);
    return r;
  });
  const slices = (json.slices as Obj[]).map((s, i): PublishSlice => {
    const T = s.T as number;
    const forward = s.forward as number;
    const expiryMs = typeof s.expiry === 'string' ? parseIsoUtc(s.expiry) : null;
    if (expiryMs === null) {
      throw new PublishError(`slices[${i}].expiry: missing or not an ISO date/time (got ${JSON.stringify(s.expiry ?? null)}); a feed update needs the expiry's time`);
    }
    const ssvi = model === 'svi' ? undefined : ssviOf(json, s);
    const p = s.params as Obj;
    const raw: SviRaw = ssvi ? ssviToRaw(ssvi) : { a: p.a as number, b: p.b as number, rho: p.rho as number, m: p.m as number, sigma: p.sigma as number };
    const fallback = s.fallback === 'reduced' || s.fallback === 'flat' ? s.fallback : undefined;
    return { index: i, T, forward, expiryMs, raw, ...(ssvi ? { ssvi } : {}), ...(fallback ? { fallback } : {}), quotes: sliceQuotes(residuals, i, T, forward) };
  });
  return { model, slices };
}

/** The message of a slice; throws naming the slice when a value is outside the fixed-point ranges. */
function sliceMessage(s: PublishSlice, c: Confidence, opts: PublishOptions): VolUpdate {
  const where = `slices[${s.index}] (expiry ${isoUtc(s.expiryMs)})`;
  const timeMs = Math.max(...s.quotes.map((q) => q.timeMs));
  const timestamp = Math.floor(timeMs / 1000);
  const deadline = timestamp + Math.floor(opts.budgetSeconds);
  const now = Math.floor(opts.nowMs / 1000);
  if (timestamp > now) throw new PublishError(`${where}: market data time ${isoUtc(timeMs)} is after the publish time ${isoUtc(opts.nowMs)}`);
  if (now > deadline) {
    throw new PublishError(
      `${where}: market data from ${isoUtc(timeMs)} are ${now - timestamp} s old at ${isoUtc(opts.nowMs)}, older than the latency budget of ${opts.budgetSeconds} s (--deadline): the deadline would be in the past`,
    );
  }
  const wad = (x: number, name: string) => {
    if (!Number.isFinite(x)) throw new PublishError(`${where}: ${name} ${x} is not a finite number`);
    // x * 1e18 overflows f64 above ~1.8e290: far outside every field's range anyway.
    if (!Number.isFinite(x * 1e18)) throw new PublishError(`${where}: does not fit the fixed-point range: ${name} ${x}`);
    return toWad(x);
  };
  const u: VolUpdate = {
    expiry: BigInt(Math.floor(s.expiryMs / 1000)),
    a: wad(s.raw.a, 'a'),
    b: wad(s.raw.b, 'b'),
    rho: wad(s.raw.rho, 'rho'),
    m: wad(s.raw.m, 'm'),
    sigma: wad(s.raw.sigma, 'sigma'),
    forward: wad(s.forward, 'forward'),
    refTau: wad(s.T, 'T'),
    confidence: wad(Math.min(Math.max(c.confidence, 0), 1), 'confidence'),
    timestamp: BigInt(timestamp),
    deadline: BigInt(deadline),
  };
  const problem = rangeProblem(u);
  if (problem) throw new PublishError(`${where}: does not fit the fixed-point range: ${problem}`);
  return u;
}

/** Largest |fixed-point vol - f64 vol| over k in [-2, 2] at the update's own forward. */
export function maxVolError(u: VolUpdate, raw: SviRaw, T: number): number {
  let worst = 0;
  const F = fromWad(u.forward);
  for (let i = 0; i <= 80; i++) {
    const k = -2 + i * 0.05;
    const strike = toWad(F * Math.exp(k));
    const kExact = Math.log(fromWad(strike) / F);
    const f64 = Math.sqrt(sviW(raw, kExact) / T);
    worst = Math.max(worst, Math.abs(fromWad(volWad(u, strike)) - f64));
  }
  return worst;
}

/** The updates of a fit, unsigned, with their confidence. */
export function buildUpdates(json: unknown, opts: PublishOptions): { model: string; asOfMs: number; updates: Array<{ slice: PublishSlice; message: VolUpdate; confidence: Confidence }> } {
  if (!(opts.budgetSeconds > 0) || !Number.isFinite(opts.budgetSeconds)) throw new PublishError(`--deadline: the latency budget must be a positive duration (got ${opts.budgetSeconds} s): a deadline in the past`);
  const { model, slices } = publishSlices(json, opts.allowArbitrage);
  const s2 = pooledNoise(slices);
  const updates = slices.map((slice) => {
    const confidence = sliceConfidence(slice, s2, opts.nowMs, opts.halfLifeSeconds);
    return { slice, message: sliceMessage(slice, confidence, opts), confidence };
  });
  const asOfMs = Math.max(...slices.flatMap((s) => s.quotes.map((q) => q.timeMs)));
  return { model, asOfMs, updates };
}

/** Builds and signs every update of a fit (EIP-712 through viem's local account). */
export async function publishFit(json: unknown, account: PrivateKeyAccount, opts: PublishOptions): Promise<UpdatesFile> {
  const { model, asOfMs, updates } = buildUpdates(json, opts);
  const domain = feedDomain(opts.chainId, opts.verifyingContract);
  const signed: SignedUpdate[] = [];
  for (const { slice, message, confidence } of updates) {
    const signature = await account.signTypedData({ domain, types: VOL_UPDATE_TYPES, primaryType: PRIMARY_TYPE, message });
    signed.push({
      expiry_iso: isoUtc(slice.expiryMs),
      T: slice.T,
      message: messageJson(message),
      signature,
      confidence,
      max_vol_error: maxVolError(message, slice.raw, slice.T),
    });
  }
  return {
    format: UPDATES_FORMAT,
    domain,
    primaryType: PRIMARY_TYPE,
    types: VOL_UPDATE_TYPES,
    signer: account.address,
    model,
    published_at: isoUtc(opts.nowMs),
    as_of: isoUtc(asOfMs),
    latency_budget_seconds: opts.budgetSeconds,
    half_life_seconds: opts.halfLifeSeconds,
    updates: signed,
  };
}

