/**
 * Publishing from a backtest: each day's fit of a slice model (ssvi, svi, essvi) goes through
 * src/publish's `publishFit` as one signed vol-feed update per expiry, published at the day's
 * data time (the latest quote time of the fit: a replay of history, not the wall clock). A stale
 * day is not published, and a day whose fit the feed refuses (failed fit, arbitrage, no quote
 * times, a value outside the ranges) is recorded with the reason; the run goes on.
 *
 * `nextDayComparison` reads the updates as a contract would (the BigInt evaluator of
 * src/publish/fixed.ts) at the strikes the next day's market quotes for the same expiry, beside
 * the f64 SVI of the published slice: the published vols against the next day's market.
 */
import type { PrivateKeyAccount } from 'viem/accounts';
import { parseIsoUtc, isoUtc } from '../market/time.js';
import { PublishError } from '../publish/errors.js';
import { fromWad, toWad, volWad, type SviWad } from '../publish/fixed.js';
import { publishFit, type UpdatesFile } from '../publish/publish.js';
import { sviW } from '../surface/svi.js';
import type { DayDetail, DayRecord, PublishedSummary } from './types.js';

/** The slice models a feed can publish. */
export const PUBLISHABLE = ['ssvi', 'svi', 'essvi'] as const;

export interface BacktestPublish {
  account: PrivateKeyAccount;
  /** The fitted model to publish (one of PUBLISHABLE, among the backtest's models). */
  model: string;
  /** Oracle latency budget in seconds: deadline = data time + budget. */
  budgetSeconds: number;
  halfLifeSeconds: number;
  chainId?: number;
  verifyingContract?: `0x${string}`;
}

/** The model to publish among `models`: ssvi first (arbitrage-free by construction), then svi, essvi. */
export function publishModel(models: readonly string[]): string | null {
  return PUBLISHABLE.find((m) => models.includes(m)) ?? null;
}

/** Signs the day's fit of `p.model`: the updates go to `detail.updates`, the summary (or the refusal) to `record.published`. */
export async function publishDay(p: BacktestPublish, record: DayRecord, detail: DayDetail): Promise<void> {
  const fit = record.fits[p.model];
  const refuse = (error: string, asOf: string | null = null) => {
    record.published = { model: p.model, signer: p.account.address, updates: 0, as_of: asOf, error };
  };
  // A book the stale test flagged is what a feed must not carry forward (as it does not feed the prior).
  if (record.stale) return refuse(`stale book (${record.stale_reason}): not published`);
  if (!fit || !fit.params || !fit.slices) return refuse(`no ${p.model} fit (${fit?.error ?? 'failed'})`);
  const residuals = detail.residuals[p.model] ?? [];
  const times = residuals.flatMap((r) => (r.timestamp !== undefined ? [parseIsoUtc(r.timestamp)] : [])).filter((t): t is number => t !== null);
  if (times.length === 0) return refuse('the quotes carry no time (a timestamp column): an update needs its market data time');
  const asOfMs = Math.max(...times);
  const json = { model: p.model, params: fit.params, slices: fit.slices, arbitrage: fit.arbitrage, residuals };
  try {
    const file = await publishFit(json, p.account, {
      nowMs: asOfMs,
      budgetSeconds: p.budgetSeconds,
      halfLifeSeconds: p.halfLifeSeconds,
      ...(p.chainId !== undefined ? { chainId: p.chainId } : {}),
      ...(p.verifyingContract ? { verifyingContract: p.verifyingContract } : {}),
    });
    detail.updates = file;
    record.published = { model: p.model, signer: file.signer, updates: file.updates.length, as_of: file.as_of, error: null } satisfies PublishedSummary;
  } catch (e) {
    if (!(e instanceof PublishError)) throw e;
    refuse(e.message, isoUtc(asOfMs));
  }
}

export interface ComparedPoint {
  strike: number;
  /** ln(strike / the published forward). */
  k: number;
  market_iv: number;
  /** What a contract reads: the BigInt evaluator at the strike. */
  published_iv: number;
  /** The f64 SVI of the published (wad) slice at the same k. */
  f64_iv: number;
}

export interface ComparedExpiry {
  expiry_iso: string;
  T: number;
  points: ComparedPoint[];
  /** sqrt(mean (published - market)^2), vol (0.01 = 1 vol point). */
  rmse_iv: number;
}

export interface NextDayComparison {
  date: string;
  next_date: string;
  expiries: ComparedExpiry[];
  /** Over every compared quote of the day; null when no published expiry trades the next day. */
  rmse_iv: number | null;
  quotes: number;
}

function sviWad(m: Record<string, string>): SviWad {
  return { a: BigInt(m.a), b: BigInt(m.b), rho: BigInt(m.rho), m: BigInt(m.m), sigma: BigInt(m.sigma), forward: BigInt(m.forward), refTau: BigInt(m.refTau) };
}

/** One update at a strike: the fixed-point vol and the f64 SVI of its own (wad) parameters. */
function evaluate(w: SviWad, strike: number): { k: number; published_iv: number; f64_iv: number } {
  const K = toWad(strike);
  const k = Math.log(fromWad(K) / fromWad(w.forward));
  const raw = { a: fromWad(w.a), b: fromWad(w.b), rho: fromWad(w.rho), m: fromWad(w.m), sigma: fromWad(w.sigma) };
  return { k, published_iv: fromWad(volWad(w, K)), f64_iv: Math.sqrt(sviW(raw, k) / fromWad(w.refTau)) };
}

const rms = (xs: number[]) => Math.sqrt(xs.reduce((s, x) => s + x * x, 0) / xs.length);

/** Day d's published updates against day d+1's market quotes of the same expiries (expiries no longer trading are left out). */
export function nextDayComparison(date: string, updates: UpdatesFile, nextDate: string, next: DayDetail['quotes']): NextDayComparison {
  const byExpiry = new Map<number, DayDetail['quotes']>();
  for (const q of next) {
    const t = parseIsoUtc(q.expiry);
    if (t !== null) byExpiry.set(t, [...(byExpiry.get(t) ?? []), q]);
  }
  const expiries: ComparedExpiry[] = [];
  for (const u of updates.updates) {
    const quotes = byExpiry.get(Number(u.message.expiry) * 1000);
    if (!quotes) continue;
    const w = sviWad(u.message);
    const points = quotes.map((q) => ({ strike: q.strike, market_iv: q.iv, ...evaluate(w, q.strike) })).sort((a, b) => a.k - b.k);
    expiries.push({ expiry_iso: u.expiry_iso, T: u.T, points, rmse_iv: rms(points.map((x) => x.published_iv - x.market_iv)) });
  }
  const all = expiries.flatMap((e) => e.points.map((x) => x.published_iv - x.market_iv));
  return { date, next_date: nextDate, expiries, rmse_iv: all.length ? rms(all) : null, quotes: all.length };
}
