/**
 * `volfit report --fit fit.json [--fit other.json ...] --quotes quotes.csv [--out dir]`: the HTML
 * calibration report for any `volfit calibrate` result (or several, compared on one page).
 * Parsing only; the work is src/report/.
 */
import { Command, Option } from 'commander';
import { stderrLogger } from '../../backends/backend.js';
import { CanonicalFormatError, parseCanonicalCsv, type Quote } from '../../market/canonical.js';
import { cell, readTable } from '../../market/table.js';
import { chooseFitBackend, warmRefit } from '../../demo/fits.js';
import { buildReport, REPORT_FILES, writeReport } from '../../report/build.js';
import { FitFormatError, parseFitResult, residualMismatches, type FitResult } from '../../report/fit.js';
import { UserError } from '../errors.js';
import { backendOption, checkOutputDir, readOptionsFrom } from '../io.js';
import { parseNumberFlag, readInput } from '../parse.js';

function readFit(path: string): FitResult {
  const text = readInput(path);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: not JSON (${(e as Error).message}); expected the output of volfit calibrate --json`);
  }
  try {
    return parseFitResult(json, path);
  } catch (e) {
    if (e instanceof FitFormatError) throw new UserError(e.message);
    throw e;
  }
}

/**
 * `volfit normalize` writes expiries as years and the date beside them in `expiry_date`, which
 * the canonical reader ignores: the report labels expiries with those dates where present.
 */
function withExpiryDates(text: string, quotes: Quote[]): Quote[] {
  const table = readTable(text);
  const col = table.index.get('expiry_date');
  if (col === undefined) return quotes;
  return quotes.map((q) => {
    const date = cell(table.rows[q.row - 1] ?? [], col);
    return date ? { ...q, expiry: date } : q;
  });
}

export function register(program: Command): void {
  program
    .command('report')
    .description('write a self-contained HTML calibration report (smiles, residuals, parameters, convergence, Greeks, data)')
    .requiredOption('--fit <files...>', 'calibration result(s) from volfit calibrate --json / --out')
    .requiredOption('--quotes <file>', 'the canonical quote CSV the fit was made from')
    .option('--out <dir>', 'output folder (index.html inside)', 'volfit-report')
    .option('--title <text>', 'page title')
    .option('--source <text>', 'what the quotes are (shown on the page)')
    .option('--as-of <iso>', 'valuation time for ISO expiries (as given to calibrate)')
    .option('--spot <x>', 'spot for rows without forward/spot (as given to calibrate)')
    .option('--rate <r>', 'rate for rows without one (as given to calibrate)')
    .option('--div <q>', 'dividend yield for rows without one (as given to calibrate)')
    .option('--bootstrap <n>', 'refits within bid/ask for the Greeks stability (0 = skip)', '4')
    .option('--threshold <x>', 'flag Greeks whose bootstrap spread exceeds this fraction of the expiry peak', '0.1')
    .addOption(backendOption())
    .addOption(new Option('--quiet', 'no progress on stderr'))
    .action(async (o) => {
      checkOutputDir('--out', o.out, REPORT_FILES, [
        ...(o.fit as string[]).map((path) => ({ flag: '--fit', path })),
        { flag: '--quotes', path: o.quotes },
      ]);
      const fits = (o.fit as string[]).map(readFit);
      const models = fits.map((f) => f.model);
      const dup = models.find((m, i) => models.indexOf(m) !== i);
      if (dup) throw new UserError(`--fit: two fits of model ${dup}; give one per model`);
      let read;
      const text = readInput(o.quotes);
      try {
        read = parseCanonicalCsv(text, {
          ...readOptionsFrom(o),
        });
      } catch (e) {
        if (e instanceof CanonicalFormatError) throw new UserError(`${o.quotes}: ${e.message}`);
        throw e;
      }
      if (read.quotes.length === 0) throw new UserError(`${o.quotes}: no readable quote (first problem: ${read.errors[0]?.message ?? 'empty'})`);
      const quotes = withExpiryDates(text, read.quotes);
      // A fit made from another file would silently join the wrong rows: every residual row must
      // be in this file with the same market IV (and strike, expiry where the fit carries them).
      fits.forEach((f, i) => {
        const bad = residualMismatches(f, quotes);
        if (bad.length === 0) return;
        const first = bad.slice(0, 3).map((b) => `row ${b.row} ${b.what}`).join('; ');
        throw new UserError(
          `--quotes ${o.quotes} does not match the ${f.model} fit ${o.fit[i]}: ${first}${bad.length > 3 ? '; ...' : ''} (${bad.length} of ${f.residuals.length} fitted rows differ); is it the file the fit was made from, read with the same --as-of/--spot/--rate/--div?`,
        );
      });
      const n = parseNumberFlag('--bootstrap', o.bootstrap)!;
      const threshold = parseNumberFlag('--threshold', o.threshold)!;
      if (!Number.isInteger(n) || n < 0) throw new UserError(`--bootstrap must be a whole number >= 0, got ${o.bootstrap}`);
      if (!(threshold > 0)) throw new UserError(`--threshold must be positive, got ${o.threshold}`);
      const log = o.quiet ? () => {} : stderrLogger;
      // Only the bootstrap refits compute on the backend; the page's own pricing is CPU f64.
      const backend = n > 0 ? await chooseFitBackend(o.backend, log) : undefined;
      const data = await buildReport(quotes, fits, {
        title: o.title,
        dataSource: o.source ?? `quotes from ${o.quotes}`,
        exclusions: read.errors.map((e) => ({ row: e.row, reason: `${e.field}: ${e.message}`, stage: 'read' })),
        refit: backend ? warmRefit(backend) : undefined,
        bootstrap: { n, threshold },
        log,
      });
      let path: string;
      try {
        path = writeReport(o.out, data);
      } catch (e) {
        throw new UserError(`--out ${o.out}: cannot write the report (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      process.stdout.write(`${path}\n`);
    });
}
