/**
 * `volfit normalize`: flags -> normalizeStream() -> canonical CSV (to --out, or stdout) and, with
 * --json, the summary {rows_in, rows_out, excluded, expiries, ...} on stdout. Always one summary
 * line on stderr (rows in, out, top exclusion reasons); when no row survives, no CSV is written
 * and the command fails (exit 2) with the reasons. Parsing only; the work is
 * src/market/normalize.ts, the same code path as the library's normalize(). The file is read as
 * a stream and the outputs written in pieces, so memory does not grow with the file.
 */
import { Command, Option } from 'commander';
import { normalizeStream } from '../../market/normalize.js';
import { MarketFormatError } from '../../market/errors.js';
import { WEIGHT_SCHEMES, type WeightScheme } from '../../market/weights.js';
import { UserError } from '../errors.js';
import { checkOutputFile } from '../io.js';
import { parseNumberFlag, parseNumberList } from '../parse.js';
import { inputError, openInput, openOutput } from '../stream.js';

function parseWeights(value: string | undefined): WeightScheme[] | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === 'none') return [];
  return value.split(',').map((s) => {
    const w = s.trim();
    if (!(WEIGHT_SCHEMES as readonly string[]).includes(w)) {
      throw new UserError(`--weights: '${w}' is not one of ${WEIGHT_SCHEMES.join(', ')}, none`);
    }
    return w as WeightScheme;
  });
}

/** `660 wrong_underlying, 233 itm_with_otm_twin, ...`: exclusion counts, largest first. */
export function exclusionSummary(counts: Record<string, number>, top = 6): string {
  const sorted = Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (sorted.length === 0) return 'none';
  const cut = sorted.length === top + 1 ? top + 1 : top;
  const shown = sorted.slice(0, cut).map(([reason, n]) => `${n} ${reason}`);
  const rest = sorted.slice(cut);
  if (rest.length) shown.push(`${rest.reduce((s, [, n]) => s + n, 0)} for ${rest.length} other reason${rest.length > 1 ? 's' : ''}`);
  return shown.join(', ');
}

export function register(program: Command): void {
  program
    .command('normalize')
    .description('read a venue file (Deribit, CBOE chain, canonical CSV) into one clean, weighted canonical quote set')
    .requiredOption('--input <file>', 'quote file')
    .addOption(new Option('--venue <venue>', 'input layout').choices(['auto', 'deribit', 'cboe', 'canonical']).default('auto'))
    .option('--underlying <coin>', 'Deribit: BTC or ETH (required for a mixed file)')
    .option('--as-of <iso>', 'valuation time (default: latest quote time in the file)')
    .option('--out <file>', 'write the canonical CSV here (default: stdout, unless --json)')
    .option('--json', 'print the JSON summary (rows_in, rows_out, excluded, expiries) on stdout')
    .option('--spot <x>', 'canonical input: spot for rows without forward/spot')
    .option('--rate <r>', 'canonical input: rate for rows without one (default 0)')
    .option('--div <q>', 'canonical input: dividend yield for rows without one (default 0)')
    .option('--min-days <d>', 'exclude expiries shorter than this many days (default 1)')
    .option('--max-spread <x>', 'exclude (ask-bid)/mid above this (default 0.5)')
    .option('--moneyness <lo,hi>', 'keep K/F inside this band (default 0.5,2)')
    .option('--max-age <seconds>', 'exclude quotes older than this before the as-of time (default: no limit)')
    .option('--keep-itm', 'keep in-the-money quotes even where the OTM twin is kept')
    .option('--weights <list>', `product of: ${WEIGHT_SCHEMES.join(', ')}, or none (default spread,vega,staleness)`)
    .option('--half-life <seconds>', 'staleness weight half-life (default 21600)')
    .option('--parity-band <x>', 'near-the-money band |K/S - 1| for parity fits (default 0.2)')
    .action(async (o) => {
      if (o.out !== undefined) checkOutputFile('--out', o.out, [{ flag: '--input', path: o.input }]);
      const input = openInput(o.input);
      let result;
      try {
        let band: number[] | undefined;
        if (o.moneyness !== undefined) {
          band = parseNumberList('--moneyness', o.moneyness);
          if (band.length !== 2) throw new UserError('--moneyness takes two numbers: lo,hi');
        }
        result = await normalizeStream(input, {
          venue: o.venue,
          underlying: o.underlying,
          asOf: o.asOf,
          spot: parseNumberFlag('--spot', o.spot),
          rate: parseNumberFlag('--rate', o.rate),
          div: parseNumberFlag('--div', o.div),
          filters: {
            minDays: parseNumberFlag('--min-days', o.minDays),
            maxRelSpread: parseNumberFlag('--max-spread', o.maxSpread),
            minMoneyness: band?.[0],
            maxMoneyness: band?.[1],
            maxAgeSeconds: parseNumberFlag('--max-age', o.maxAge),
            keepItm: o.keepItm ? true : undefined,
          },
          weights: { schemes: parseWeights(o.weights), halfLifeSeconds: parseNumberFlag('--half-life', o.halfLife) },
          parity: { band: parseNumberFlag('--parity-band', o.parityBand) },
        });
      } catch (e) {
        input.destroy();
        if (e instanceof MarketFormatError || e instanceof RangeError) throw new UserError(`${o.input}: ${e.message}`);
        throw inputError(o.input, e);
      }
      const excluded = exclusionSummary(result.exclusionCounts());
      if (result.rowsOut === 0) {
        // A header-only file would look like success: say that nothing survived, and why.
        if (o.json) await writeAll(result.jsonChunks(), undefined, '\n');
        const asOf = result.asOf ? ` (as of ${result.asOf})` : '';
        throw new UserError(
          `${o.input}: nothing survived normalization: 0 of ${result.rowsIn} rows kept${asOf}; excluded: ${excluded}; check --as-of, --underlying and the filters${o.out !== undefined ? `; ${o.out} not written` : ''}`,
        );
      }
      // Written in pieces from the compact result: the same text as toCsv() and toJSON().
      if (o.out || !o.json) await writeAll(result.csvChunks(), o.out);
      if (o.json) await writeAll(result.jsonChunks(), undefined, '\n');
      process.stderr.write(`volfit: normalize: ${result.rowsIn} in, ${result.rowsOut} out; excluded: ${excluded}\n`);
    });
}

async function writeAll(chunks: Iterable<string>, out: string | undefined, end = ''): Promise<void> {
  const sink = openOutput(out);
  try {
    for (const c of chunks) await sink.write(c);
    if (end) await sink.write(end);
    await sink.close();
  } catch (e) {
    sink.abort();
    throw e;
  }
}
