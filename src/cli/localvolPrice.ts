/**
 * `volfit price --model localvol --surface fit.json --engine mc [--paths --steps --seed]
 * (--expiry T --strikes K,... [--type] [--spot --rate --div] | --input quotes.csv) [--json]`:
 * vanilla prices under the Dupire local volatility of a fitted surface, by the engine of that
 * name in the registry's LOCAL_VOL_ENGINES (src/engines/registry.ts: the local-vol Monte Carlo,
 * src/engines/mc/localvol.ts). Same flags and output as `price --engine mc`
 * (JSON {"backend", "model": "localvol", "prices", "ivs", "stderr"}), plus --surface; --params
 * is not used (the surface is the model).
 *
 * Forwards: --input rows carry their own; for --expiry/--strikes the forward is spot e^{(r-q) T}
 * when --spot is given, else the fit's own forward curve (ln F linear in T between the fitted
 * expiries, flat outside; src/surface/fitJson.ts). The discount factor is e^{-r T} (--rate,
 * default 0). A surface with arbitrage inside the simulation grid is a one-line error naming k
 * and T (LocalVolError), never a price.
 */
import { quoteSetToPrice } from './commands/price.js';
import { selectBackend, stderrLogger } from '../backends/backend.js';
import { impliedVolatility } from '../engines/black/impliedVol.js';
import { MC_CLI_DEFAULTS } from '../engines/mc/index.js';
import type { QuoteSet } from '../engines/pricer.js';
import { LOCAL_VOL_ENGINES, localVolEngine, type LocalVolEngine } from '../engines/registry.js';
import { LocalVolError } from '../surface/types.js';
import { readSurfaceFlag } from './commands/localvol.js';
import { UserError } from './errors.js';
import { checkOutputFile, emit } from './io.js';
import { parseIntegerFlag, parseNumberFlag, parseNumberList } from './parse.js';

/** The options `volfit price` parses (commander's camel-cased flags). */
export interface PriceLocalVolFlags {
  params?: string;
  surface?: string;
  engine?: string;
  paths?: string;
  steps?: string;
  seed?: string;
  spot?: string;
  rate?: string;
  div?: string;
  expiry?: string;
  strikes?: string;
  type?: string;
  input?: string;
  asOf?: string;
  backend?: string;
  json?: boolean;
  out?: string;
}

export async function priceLocalVol(o: PriceLocalVolFlags): Promise<void> {
  if (o.out !== undefined) checkOutputFile('--out', o.out, [{ flag: '--input', path: o.input }, { flag: '--surface', path: o.surface }]);
  if (o.params !== undefined) throw new UserError('--params is not used with --model localvol: the fitted surface (--surface) is the model');
  let engine: LocalVolEngine;
  try {
    engine = localVolEngine(o.engine ?? '');
  } catch {
    const names = LOCAL_VOL_ENGINES.map((e) => e.name);
    throw new UserError(`--model localvol prices by Monte Carlo only: add --engine ${names.join(' or --engine ')} (got --engine ${o.engine})`);
  }
  const fit = readSurfaceFlag(o.surface);
  const paths = parseIntegerFlag('--paths', o.paths ?? String(MC_CLI_DEFAULTS.paths), 1, 2 ** 31);
  const steps = parseIntegerFlag('--steps', o.steps ?? String(MC_CLI_DEFAULTS.steps), 1, 100_000);
  const seed = parseIntegerFlag('--seed', o.seed ?? String(MC_CLI_DEFAULTS.seed), 0, 0xffffffff);
  const spot = parseNumberFlag('--spot', o.spot);
  const rate = parseNumberFlag('--rate', o.rate) ?? 0;
  const div = parseNumberFlag('--div', o.div) ?? 0;
  let quotes: QuoteSet;
  if (o.input) {
    if (o.expiry !== undefined || o.strikes !== undefined) throw new UserError('give either --input or --expiry/--strikes, not both');
    quotes = quoteSetToPrice(o.input, { spot, rate: parseNumberFlag('--rate', o.rate), div: parseNumberFlag('--div', o.div), asOf: o.asOf });
  } else {
    if (spot !== undefined && !(spot > 0)) throw new UserError('--spot must be a positive number');
    const T = parseNumberFlag('--expiry', o.expiry);
    if (T === undefined || !(T > 0) || T > 100) throw new UserError('--expiry (years, > 0, at most 100) is required without --input');
    if (o.strikes === undefined) throw new UserError('--strikes is required without --input');
    const strikes = parseNumberList('--strikes', o.strikes);
    strikes.forEach((k, i) => {
      if (!(k > 0)) throw new UserError(`--strikes: item ${i + 1} (${k}) must be positive`);
    });
    const m = strikes.length;
    const F = spot !== undefined ? spot * Math.exp((rate - div) * T) : fit.forwardAt(T);
    quotes = {
      forward: new Float64Array(m).fill(F),
      strike: Float64Array.from(strikes),
      T: new Float64Array(m).fill(T),
      isCall: new Uint8Array(m).fill(o.type === 'put' ? 0 : 1),
      discount: new Float64Array(m).fill(Math.exp(-rate * T)),
    };
  }
  const backend = await selectBackend((o.backend ?? 'auto') as 'auto' | 'webgpu' | 'cpu');
  let pricer;
  try {
    pricer = engine.create(fit.surface, quotes, backend, { purpose: 'price', log: stderrLogger, mc: { paths, steps, seed, antithetic: MC_CLI_DEFAULTS.antithetic } });
  } catch (e) {
    if (e instanceof LocalVolError) throw new UserError(`--surface ${o.surface}: ${e.message}`);
    if (e instanceof RangeError) throw new UserError(e.message);
    throw e;
  }
  let result;
  try {
    result = await pricer.price();
  } finally {
    pricer.dispose();
  }
  const prices = Array.from(result.prices);
  const ivs = prices.map((p, i) => impliedVolatility(p, quotes.forward[i], quotes.strike[i], quotes.T[i], !!quotes.isCall[i], quotes.discount[i]).iv);
  const se = Array.from(result.stderr);
  if (o.json) {
    emit(JSON.stringify({ backend: result.backend, model: 'localvol', prices, ivs, stderr: se }), o.out);
  } else {
    const lines = ['T,strike,type,price,iv,stderr'];
    prices.forEach((p, i) => lines.push(`${quotes.T[i]},${quotes.strike[i]},${quotes.isCall[i] ? 'call' : 'put'},${p},${ivs[i] ?? ''},${se[i]}`));
    emit(lines.join('\n'), o.out);
  }
}
