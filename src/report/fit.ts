/**
 * The calibration result as `volfit calibrate` writes it (issue 6), and a reader that checks a
 * fit.json before the report trusts any number in it. Extra fields are kept; the report only
 * needs the ones below. Missing optional parts (history, correlations, stderr) only remove the
 * matching section of the page; a missing required field, or a parameter outside its model's
 * bounds, is a one-line error naming it.
 */
import { impliedVol } from './black.js';
import type { ReportQuote } from './quote.js';
import { models } from '../models/index.js';
import { isSliceModel } from '../models/types.js';

export interface FitResidual {
  /** 1-based data row of the quote in the quotes CSV the fit was made from. */
  row: number;
  market_iv: number | null;
  model_iv: number | null;
  weight: number;
  /** The quote's strike and years to expiry, where the fit carries them (calibrate does). */
  strike?: number;
  expiry?: number;
}

export interface FitExclusion {
  row: number;
  reason: string;
}

export interface FitRoute {
  name: string;
  reason?: string;
}

export interface FitResult {
  model: string;
  params: Record<string, number>;
  stderr: Record<string, number | null>;
  /** In vol (0.01 = 1 vol point). */
  rmse_iv: number | null;
  rmse_price: number | null;
  objective: number;
  iterations: number;
  evaluations: number;
  route: string | FitRoute;
  converged: boolean;
  backend: string;
  seconds: number;
  quotes: { used: number; excluded: FitExclusion[] };
  residuals: FitResidual[];
  /** Parameter correlations: a matrix in `params` key order, or a nested record (null: undetermined). */
  correlations?: Array<Array<number | null>> | Record<string, Record<string, number | null>> | null;
  /** Objective after each iteration (the convergence plot), plain or tagged with the optimizer stage. */
  history?: Array<number | HistoryEntry>;
  message?: string;
  /** Bounds the fit ran under, per parameter (the report marks parameters that end on one). */
  bounds?: Record<string, [number, number]>;
  /** Slice models (black, svi, ssvi, essvi): one entry per expiry, increasing T (checked against the model's per-slice bounds). */
  slices?: FitSlice[];
  /** Slice models: the arbitrage report of the fit (kept as written). */
  arbitrage?: FitArbitrage;
}

export interface FitSlice {
  T: number;
  forward?: number;
  expiry?: string;
  params: Record<string, number>;
  rmse_iv?: number;
}

export interface FitArbitrage {
  free: boolean;
  butterfly: Array<{ T: number; k: number; g: number; k_from?: number; k_to?: number }>;
  calendar: Array<{ T1: number; T2: number; k: number; dw?: number; k_from?: number; k_to?: number }>;
  lee?: Array<{ T: number; side: string; slope: number }>;
  grid?: { k_min: number; k_max: number; points: number };
}

export interface HistoryEntry {
  stage?: string;
  objective: number;
}

export class FitFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FitFormatError';
  }
}

/** What a quote file row must agree on with the fit's residual for that row. */
export interface ResidualMismatch {
  row: number;
  /** Why, in words: e.g. 'market IV 0.5123 in the fit, 0.4987 in the quotes'. */
  what: string;
}

/** Market IVs of the same quote agree to this (in vol); the solver itself is good to 1e-12. */
export const MARKET_IV_TOLERANCE = 1e-6;

/**
 * The market IV of a quote as the calibrator computes it: a given IV wins, else the Black-76
 * implied vol of the price (null when the price carries none).
 */
export function quoteMarketIv(q: ReportQuote): number | null {
  if (q.iv !== undefined && Number.isFinite(q.iv) && q.iv > 0) return q.iv;
  if (!(q.T > 0 && q.forward > 0 && q.strike > 0 && q.discount > 0 && Number.isFinite(q.price))) return null;
  return impliedVol(q.price, q.forward, q.strike, q.T, q.isCall, q.discount);
}

/**
 * The fit's residual rows that do not match the quotes: a row missing from the quotes, a market
 * IV that differs from the quote's (recomputed as the calibrator does) by more than
 * MARKET_IV_TOLERANCE, or a strike / expiry (years) that differs, where the fit carries them.
 * Empty when the quotes are the file the fit was made from (read with the same options).
 */
export function residualMismatches(fit: FitResult, quotes: readonly ReportQuote[]): ResidualMismatch[] {
  const byRow = new Map(quotes.map((q) => [q.row, q]));
  const out: ResidualMismatch[] = [];
  const fmt = (x: number | null) => (x === null ? 'none' : String(Number(x.toPrecision(6))));
  for (const r of fit.residuals) {
    const q = byRow.get(r.row);
    if (!q) {
      out.push({ row: r.row, what: 'not in this file' });
      continue;
    }
    if (r.strike !== undefined && !(Math.abs(r.strike - q.strike) <= 1e-9 * Math.max(1, Math.abs(q.strike)))) {
      out.push({ row: r.row, what: `strike ${fmt(r.strike)} in the fit, ${fmt(q.strike)} in the quotes` });
      continue;
    }
    if (r.expiry !== undefined && !(Math.abs(r.expiry - q.T) <= 1e-9 * Math.max(1, Math.abs(q.T)))) {
      out.push({ row: r.row, what: `expiry ${fmt(r.expiry)} years in the fit, ${fmt(q.T)} in the quotes` });
      continue;
    }
    if (r.market_iv !== null) {
      const iv = quoteMarketIv(q);
      if (iv === null || !(Math.abs(iv - r.market_iv) <= MARKET_IV_TOLERANCE)) {
        out.push({ row: r.row, what: `market IV ${fmt(r.market_iv)} in the fit, ${fmt(iv)} in the quotes` });
      }
    }
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function finiteOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * Validates a parsed fit.json. `source` names the file in messages. Throws FitFormatError
 * naming the first bad field; never returns NaN parameters.
 */
export function parseFitResult(json: unknown, source = 'fit'): FitResult {
  const bad = (field: string, what: string): never => {
    throw new FitFormatError(`${source}: field '${field}' ${what}`);
  };
  if (!isRecord(json)) return bad('(root)', 'must be a JSON object (the output of volfit calibrate --json)');
  const model = json.model;
  if (typeof model !== 'string' || !model) bad('model', 'must be a model name');

  const key = (model as string).toLowerCase();
  const known = Object.hasOwn(models, key) ? models[key] : undefined;
  const sliceModel = known !== undefined && isSliceModel(known);
  // Slice models may have no global parameter (svi, essvi): their slices carry them.
  const slicesGiven = Array.isArray(json.slices) && json.slices.length > 0;
  if (!isRecord(json.params) || (Object.keys(json.params).length === 0 && !(sliceModel && slicesGiven))) {
    bad('params', sliceModel ? 'must be an object of numbers (or {} beside a non-empty "slices")' : 'must be an object of numbers');
  }
  const params: Record<string, number> = {};
  for (const [k, v] of Object.entries(json.params as Record<string, unknown>)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) bad(`params.${k}`, `must be a finite number, got ${JSON.stringify(v)}`);
    params[k] = v as number;
  }
  checkParamBounds(model as string, params, bad);
  const slices = parseSlices(model as string, json.slices, bad);
  if (sliceModel && model !== 'black' && slices === undefined) bad('slices', `must be an array of {T, params} (one per expiry): a ${model} fit is its slices`);

  const stderr: Record<string, number | null> = {};
  if (json.stderr !== undefined && json.stderr !== null) {
    if (!isRecord(json.stderr)) bad('stderr', 'must be an object');
    for (const [k, v] of Object.entries(json.stderr as Record<string, unknown>)) stderr[k] = finiteOrNull(v);
  }

  const num = (field: string, fallback?: number): number => {
    const v = json[field];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (v === undefined && fallback !== undefined) return fallback;
    return bad(field, `must be a finite number, got ${JSON.stringify(v)}`);
  };

  const quotes = json.quotes;
  if (!isRecord(quotes)) bad('quotes', 'must be {"used": n, "excluded": [...]}');
  const q = quotes as Record<string, unknown>;
  const excludedRaw = q.excluded ?? [];
  if (!Array.isArray(excludedRaw)) bad('quotes.excluded', 'must be an array of {row, reason}');
  const excluded: FitExclusion[] = (excludedRaw as unknown[]).map((e, i) => {
    if (!isRecord(e) || typeof e.row !== 'number' || typeof e.reason !== 'string') {
      return bad(`quotes.excluded[${i}]`, 'must be {"row": n, "reason": "..."}');
    }
    return { row: e.row, reason: e.reason };
  });

  if (!Array.isArray(json.residuals)) bad('residuals', 'must be an array of {row, market_iv, model_iv, weight}');
  const residuals: FitResidual[] = (json.residuals as unknown[]).map((r, i) => {
    if (!isRecord(r) || typeof r.row !== 'number' || !Number.isInteger(r.row)) {
      return bad(`residuals[${i}].row`, 'must be an integer row number');
    }
    const weight = finiteOrNull(r.weight);
    const strike = finiteOrNull(r.strike);
    const expiry = finiteOrNull(r.expiry);
    return {
      row: r.row,
      market_iv: finiteOrNull(r.market_iv),
      model_iv: finiteOrNull(r.model_iv),
      weight: weight === null ? 1 : weight,
      ...(strike !== null ? { strike } : {}),
      ...(expiry !== null ? { expiry } : {}),
    };
  });

  let route: string | FitRoute = 'unknown';
  if (typeof json.route === 'string') route = json.route;
  else if (isRecord(json.route) && typeof json.route.name === 'string') {
    route = { name: json.route.name, reason: typeof json.route.reason === 'string' ? json.route.reason : undefined };
  }

  const history: HistoryEntry[] | undefined = Array.isArray(json.history)
    ? (json.history as unknown[]).flatMap((v): HistoryEntry[] => {
        if (typeof v === 'number') return Number.isFinite(v) ? [{ objective: v }] : [];
        if (isRecord(v) && typeof v.objective === 'number' && Number.isFinite(v.objective)) {
          return [{ objective: v.objective, stage: typeof v.stage === 'string' ? v.stage : undefined }];
        }
        return [];
      })
    : undefined;

  let correlations: FitResult['correlations'];
  if (Array.isArray(json.correlations) && json.correlations.every((row) => Array.isArray(row))) {
    correlations = (json.correlations as unknown[][]).map((row) => row.map(finiteOrNull));
  } else if (isRecord(json.correlations)) {
    correlations = json.correlations as Record<string, Record<string, number | null>>;
  }

  return {
    ...(json as object),
    model: model as string,
    params,
    stderr,
    rmse_iv: finiteOrNull(json.rmse_iv),
    rmse_price: finiteOrNull(json.rmse_price),
    objective: num('objective'),
    iterations: num('iterations', 0),
    evaluations: num('evaluations', 0),
    route,
    converged: json.converged === true,
    backend: typeof json.backend === 'string' ? json.backend : 'unknown',
    seconds: num('seconds', 0),
    quotes: { used: typeof q.used === 'number' ? q.used : residuals.length, excluded },
    residuals,
    correlations,
    history,
    message: typeof json.message === 'string' ? json.message : undefined,
    bounds: parseBounds(json.bounds),
    slices,
    arbitrage: isRecord(json.arbitrage) && typeof json.arbitrage.free === 'boolean' && Array.isArray(json.arbitrage.butterfly) && Array.isArray(json.arbitrage.calendar)
      ? (json.arbitrage as unknown as FitArbitrage)
      : undefined,
  };
}

/**
 * A slice model's `slices`: each {T > 0, params: finite numbers within the model's per-slice
 * bounds}, in increasing T. Absent: undefined. Models volfit does not know: finite numbers only.
 */
function parseSlices(model: string, v: unknown, bad: (field: string, what: string) => never): FitSlice[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length === 0) return bad('slices', 'must be a non-empty array of {T, params}');
  const key = model.toLowerCase();
  const m = Object.hasOwn(models, key) ? models[key] : undefined;
  const specs = m && isSliceModel(m) ? m.slice.perSlice : undefined;
  let lastT = 0;
  return v.map((s, i): FitSlice => {
    const at = `slices[${i}]`;
    if (!isRecord(s)) return bad(at, 'must be {"T": years, "forward": F, "params": {...}}');
    if (typeof s.T !== 'number' || !Number.isFinite(s.T) || !(s.T > 0)) bad(`${at}.T`, `must be a positive number of years, got ${JSON.stringify(s.T)}`);
    if (!((s.T as number) > lastT)) bad(`${at}.T`, `must increase from slice to slice (${s.T} after ${lastT})`);
    lastT = s.T as number;
    if (s.forward !== undefined && !(typeof s.forward === 'number' && Number.isFinite(s.forward) && s.forward > 0)) {
      bad(`${at}.forward`, `must be a positive number, got ${JSON.stringify(s.forward)}`);
    }
    if (!isRecord(s.params)) return bad(`${at}.params`, 'must be an object of numbers');
    const p: Record<string, number> = {};
    for (const [k, x] of Object.entries(s.params)) {
      if (typeof x !== 'number' || !Number.isFinite(x)) bad(`${at}.params.${k}`, `must be a finite number, got ${JSON.stringify(x)}`);
      p[k] = x as number;
    }
    for (const spec of specs ?? []) {
      const x = p[spec.name];
      if (x === undefined) bad(`${at}.params.${spec.name}`, `is missing (${m!.name} slice: ${spec.description})`);
      if (x < spec.lower || x > spec.upper || (spec.lower === Number.MIN_VALUE && !(x > 0))) {
        bad(`${at}.params.${spec.name}`, `= ${x} is outside the ${m!.name} slice bounds [${spec.lower === Number.MIN_VALUE ? '0 (exclusive)' : spec.lower}, ${spec.upper}] (${spec.description})`);
      }
    }
    return { ...s, T: s.T as number, params: p };
  });
}

/**
 * A fitted parameter outside its model's hard bounds (a negative variance, a correlation beyond
 * +-1) is not a fit volfit can make or price: refused, naming the parameter. Black fits (one vol
 * per expiry) need positive vols; models volfit does not know are left to the page (no pricer).
 */
function checkParamBounds(model: string, params: Record<string, number>, bad: (field: string, what: string) => never): void {
  if (model === 'black') {
    for (const [k, v] of Object.entries(params)) if (!(v > 0)) bad(`params.${k}`, `is a Black vol and must be positive, got ${v}`);
    return;
  }
  const key = model.toLowerCase();
  if (!Object.hasOwn(models, key)) return;
  const m = models[key];
  for (const spec of m.params) {
    const v = params[spec.name];
    if (v !== undefined && (v < spec.lower || v > spec.upper)) {
      bad(`params.${spec.name}`, `= ${v} is outside the ${m.name} bounds [${spec.lower}, ${spec.upper}] (${spec.description})`);
    }
  }
}

function parseBounds(v: unknown): Record<string, [number, number]> | undefined {
  if (!isRecord(v)) return undefined;
  const out: Record<string, [number, number]> = {};
  for (const [k, b] of Object.entries(v)) {
    if (Array.isArray(b) && b.length === 2 && typeof b[0] === 'number' && typeof b[1] === 'number') out[k] = [b[0], b[1]];
  }
  return out;
}

/** Whether a fitted parameter sits on (within 1e-6 of the range of) one of its bounds. */
export function atBound(fit: FitResult, name: string): 'lower' | 'upper' | null {
  const b = fit.bounds?.[name];
  const v = fit.params[name];
  if (!b || v === undefined) return null;
  const tol = 1e-6 * (Number.isFinite(b[1] - b[0]) ? b[1] - b[0] : Math.max(1, Math.abs(v)));
  if (Math.abs(v - b[0]) <= tol) return 'lower';
  if (Math.abs(v - b[1]) <= tol) return 'upper';
  return null;
}

/** The objective history as entries (plain numbers get no stage). */
export function historyEntries(fit: FitResult): HistoryEntry[] {
  return (fit.history ?? []).map((h) => (typeof h === 'number' ? { objective: h } : h)).filter((h) => Number.isFinite(h.objective));
}

export function routeName(route: FitResult['route']): string {
  return typeof route === 'string' ? route : route.reason ? `${route.name} (${route.reason})` : route.name;
}

/** Correlation between two parameters, whatever layout the fit used; null when absent. */
export function correlation(fit: FitResult, a: string, b: string): number | null {
  const c = fit.correlations;
  if (!c) return null;
  if (Array.isArray(c)) {
    const names = Object.keys(fit.params);
    const i = names.indexOf(a);
    const j = names.indexOf(b);
    const v = i >= 0 && j >= 0 ? c[i]?.[j] : undefined;
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  }
  const v = c[a]?.[b];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
