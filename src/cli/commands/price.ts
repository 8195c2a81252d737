/**
 * `volfit price`: model prices and Black-76 implied vols of a strip (--expiry/--strikes/--type)
 * or of a canonical quote CSV (--input: expiry, strike, type and forward or spot/rate/div; price
 * columns optional and ignored), in input order.
 */
import { Command, Option } from 'commander';
import { selectBackend, stderrLogger, type Backend } from '../../backends/backend.js';
import { impliedVolatility } from '../../engines/black/impliedVol.js';
import { MC_CLI_DEFAULTS } from '../../engines/mc/index.js';
import { quoteSetOf, type QuoteSet, type SurfacePricer } from '../../engines/pricer.js';
import { engineNames, processEngine, type EngineName, type EngineOptions } from '../../engines/registry.js';
import { CanonicalFormatError, parseCanonicalTable, type CanonicalReadResult, type ReadOptions } from '../../market/canonical.js';
import { MarketFormatError } from '../../market/errors.js';
import { parseNumber, readTable } from '../../market/table.js';
import { getModel, processModelNames } from '../../models/index.js';
import { isSliceModel, paramVector, type Model } from '../../models/types.js';
import { UserError } from '../errors.js';
import { backendOption, checkOutputFile, emit } from '../io.js';
import { parseKeyValues, parseNumberFlag, parseNumberList, readInput } from '../parse.js';

type EngineFactory = (model: Model, quotes: QuoteSet, backend: Backend) => Promise<SurfacePricer>;

type EngineFlags = { paths: string; steps: string; seed: string };

/** The registry options of `volfit price` for an engine; Monte Carlo takes its path count, steps and seed from the flags. */
function engineOptions(name: EngineName, o: EngineFlags): EngineOptions {
  const base: EngineOptions = { log: stderrLogger, purpose: 'price' };
  if (name !== 'mc') return base;
  return {
    ...base,
    mc: {
      paths: positiveInteger('--paths', o.paths),
      steps: positiveInteger('--steps', o.steps),
      seed: nonNegativeInteger('--seed', o.seed),
      antithetic: MC_CLI_DEFAULTS.antithetic,
    },
  };
}

/**
 * Pricing engines by name: the process engines of the registry (src/engines/registry.ts). The
 * engine checks that it can price the model (the COS engine needs a characteristic function).
 */
export const PRICE_ENGINES: Record<string, (o: EngineFlags) => EngineFactory> = Object.fromEntries(
  engineNames('process').map((name) => {
    const make = (o: EngineFlags): EngineFactory => {
      const options = engineOptions(name, o);
      return async (model, quotes, backend) => processEngine(model, name, 'price').create(model, quotes, backend, options);
    };
    return [name, make];
  }),
);

function positiveInteger(flag: string, value: string): number {
  const x = parseNumber(value);
  if (x === null || !Number.isInteger(x) || x <= 0) throw new UserError(`${flag} must be a positive integer, got '${value}'`);
  return x;
}

function nonNegativeInteger(flag: string, value: string): number {
  const x = parseNumber(value);
  if (x === null || !Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new UserError(`${flag} must be an integer in [0, 2^32), got '${value}'`);
  return x;
}

/**
 * Reads a canonical quote CSV for pricing. Market prices are not needed to price, so a file
 * without price/mid/bid+ask columns is accepted (they are ignored when present); format errors
 * become one-line user errors.
 */
export function readQuotesToPrice(path: string, opts: ReadOptions): CanonicalReadResult {
  try {
    const table = readTable(readInput(path), (m) => new CanonicalFormatError(m));
    const hasPrice = ['price', 'mid'].some((c) => table.index.has(c)) || (table.index.has('bid') && table.index.has('ask'));
    if (!hasPrice) {
      table.index.set('price', table.header.length);
      table.header.push('price');
      for (const row of table.rows) row[table.header.length - 1] = '0';
    }
    return parseCanonicalTable(table, opts);
  } catch (e) {
    if (e instanceof MarketFormatError) throw new UserError(`${path}: ${e.message}`);
    throw e;
  }
}

/** readQuotesToPrice as the quote set to price; the first bad row or an empty file is a one-line user error. */
export function quoteSetToPrice(path: string, opts: ReadOptions): QuoteSet {
  const { quotes, errors } = readQuotesToPrice(path, opts);
  if (errors.length) {
    const e = errors[0];
    const what = e.message.replace(/^row \d+: /, '');
    throw new UserError(`${path}: row ${e.row}, field ${e.field}: ${what}${errors.length > 1 ? ` (and ${errors.length - 1} more bad rows)` : ''}`);
  }
  if (!quotes.length) throw new UserError(`${path}: no quotes`);
  return quoteSetOf(quotes);
}

function userError<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RangeError) throw new UserError(e.message);
    throw e;
  }
}

/** The async twin of userError: an engine that rejects a model or option is the user's error. */
async function userErrorAsync<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof RangeError) throw new UserError(e.message);
    throw e;
  }
}

export function register(program: Command): void {
  program
    .command('price')
    .description('model prices and implied vols (Heston, Bates, Merton) of a strike strip or a quote CSV')
    .requiredOption('--model <name>', `${processModelNames().join(' | ')} | localvol (rbergomi, localvol: --engine mc)`)
    .option('--params <list>', 'model parameters as name=value,... (e.g. v0=0.04,kappa=4,theta=0.25,sigma=1,rho=-0.5); required except for localvol')
    .option('--surface <file>', 'surface fit JSON of calibrate --model svi|ssvi|essvi (--model localvol)')
    .addOption(new Option('--engine <name>', 'pricing engine').choices(Object.keys(PRICE_ENGINES)).default('cos'))
    .option('--paths <n>', 'Monte Carlo paths (--engine mc)', String(MC_CLI_DEFAULTS.paths))
    .option('--steps <n>', 'Monte Carlo time steps (--engine mc)', String(MC_CLI_DEFAULTS.steps))
    .option('--seed <n>', 'Monte Carlo seed (--engine mc)', String(MC_CLI_DEFAULTS.seed))
    .option('--spot <x>', 'spot price')
    .option('--rate <r>', 'continuously compounded rate (default 0)')
    .option('--div <q>', 'continuous dividend yield (default 0)')
    .option('--expiry <years>', 'time to expiry in years (with --strikes)')
    .option('--strikes <list>', 'comma-separated strikes')
    .addOption(new Option('--type <type>', 'option type for --strikes').choices(['call', 'put']).default('call'))
    .option('--input <file>', 'canonical quote CSV instead of --expiry/--strikes/--type')
    .option('--as-of <iso>', 'valuation time when the CSV has expiry dates')
    .addOption(backendOption())
    .option('--json', 'JSON output {"backend","model","prices","ivs"} (+ "stderr" for --engine mc)')
    .option('--out <file>', 'write here instead of stdout')
    .action(async (o) => {
      // Local vol: the fitted surface is the model (src/cli/localvolPrice.ts).
      if (o.model === 'localvol') return (await import('../localvolPrice.js')).priceLocalVol(o);
      if (o.params === undefined) throw new UserError("required option '--params <list>' not specified");
      if (o.surface !== undefined) throw new UserError('--surface is for --model localvol only');
      if (o.out !== undefined) checkOutputFile('--out', o.out, [{ flag: '--input', path: o.input }]);
      const model = userError(() => getModel(o.model));
      if (isSliceModel(model)) {
        throw new UserError(
          `${model.name} is a slice model (one parameter set per expiry): fit it with \`volfit calibrate --model ${model.name}\`; \`volfit report\` prices its smiles. volfit price takes ${processModelNames().join(', ')}`,
        );
      }
      const params = userError(() => paramVector(model, parseKeyValues('--params', o.params)));
      const spot = parseNumberFlag('--spot', o.spot);
      const rate = parseNumberFlag('--rate', o.rate) ?? 0;
      const div = parseNumberFlag('--div', o.div) ?? 0;
      let quotes: QuoteSet;
      if (o.input) {
        if (o.expiry !== undefined || o.strikes !== undefined) throw new UserError('give either --input or --expiry/--strikes, not both');
        quotes = quoteSetToPrice(o.input, { spot, rate, div, asOf: o.asOf });
      } else {
        if (spot === undefined || !(spot > 0)) throw new UserError('--spot must be a positive number');
        const T = parseNumberFlag('--expiry', o.expiry);
        if (T === undefined || !(T > 0)) throw new UserError('--expiry (years, > 0) is required without --input');
        if (o.strikes === undefined) throw new UserError('--strikes is required without --input');
        const strikes = parseNumberList('--strikes', o.strikes);
        strikes.forEach((k, i) => {
          if (!(k > 0)) throw new UserError(`--strikes: item ${i + 1} (${k}) must be positive`);
        });
        const m = strikes.length;
        quotes = {
          forward: new Float64Array(m).fill(spot * Math.exp((rate - div) * T)),
          strike: Float64Array.from(strikes),
          T: new Float64Array(m).fill(T),
          isCall: new Uint8Array(m).fill(o.type === 'put' ? 0 : 1),
          discount: new Float64Array(m).fill(Math.exp(-rate * T)),
        };
      }
      const backend = await selectBackend(o.backend);
      const engine = PRICE_ENGINES[o.engine](o);
      const pricer = await userErrorAsync(() => engine(model, quotes, backend));
      const result = await pricer.priceBatch(params, 1);
      pricer.dispose();
      const prices = Array.from(result.prices);
      const ivs = prices.map((p, i) => {
        const r = impliedVolatility(p, quotes.forward[i], quotes.strike[i], quotes.T[i], !!quotes.isCall[i], quotes.discount[i]);
        return r.iv;
      });
      if (o.json) {
        const stderr = result.stderr ? { stderr: Array.from(result.stderr) } : {};
        emit(JSON.stringify({ backend: result.backend, model: model.name, prices, ivs, ...stderr }), o.out);
      } else {
        const se = result.stderr;
        const lines = [`T,strike,type,price,iv${se ? ',stderr' : ''}`];
        prices.forEach((p, i) =>
          lines.push(
            `${quotes.T[i]},${quotes.strike[i]},${quotes.isCall[i] ? 'call' : 'put'},${p},${ivs[i] ?? ''}${se ? `,${se[i]}` : ''}`,
          ),
        );
        emit(lines.join('\n'), o.out);
      }
    });
}
