import { existsSync } from 'node:fs';
import { Command, Option } from 'commander';
import { calibrateCsv } from '../../calibrator/csv.js';
import { CalibrationInputError } from '../../calibrator/transforms.js';
import type { PriorSource } from '../../calibrator/posterior.js';
import type { CalibrationResult } from '../../calibrator/result.js';
import { CanonicalFormatError } from '../../market/canonical.js';
import { getModel, isSliceModel, modelNames, sliceModelNames } from '../../models/index.js';
import type { Model } from '../../models/types.js';
import { stderrLogger } from '../../backends/backend.js';
import { UserError } from '../errors.js';
import { backendOption, checkOutputFile, emit, readOptionsFrom, withReadOptions, writeOutput } from '../io.js';
import { MC_CALIBRATION_DEFAULTS, pricerFactoryFor } from '../../calibrator/pricers.js';
import { parseIntegerFlag, parseKeyValues, readInput } from '../parse.js';
import { calibrateManyCli, collectInputs, expandInputs, isMany } from '../calibrateMany.js';

/** A previous fit's JSON (for --start and --prior), checked enough to give a one-line error. */
function readFit(flag: string, path: string): PriorSource {
  let json: unknown;
  try {
    json = JSON.parse(readInput(path));
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${flag} ${path}: not JSON (${(e as Error).message})`);
  }
  const fit = json as Partial<CalibrationResult>;
  if (typeof fit !== 'object' || fit === null || typeof fit.model !== 'string' || typeof fit.params !== 'object' || fit.params === null) {
    throw new UserError(`${flag} ${path}: not a volfit fit (needs "model" and "params")`);
  }
  return fit as PriorSource;
}

/**
 * Fewest Monte Carlo paths and steps a calibration accepts: below them the prices' noise and
 * discretisation bias swamp the smile (2 paths, 1 step fit anything and "converge"), so the fit
 * would report a convergence that means nothing.
 */
export const MC_CALIBRATION_MINIMUM = { paths: 1024, steps: 8 } as const;

/** An integer flag in [min, max] (Monte Carlo settings), and at least `least` (why: `what`), as a one-line error otherwise. */
function intFlag(flag: string, value: string, min: number, max: number, least?: { n: number; what: string }): number {
  const x = parseIntegerFlag(flag, value, min, max);
  if (least && x < least.n) {
    throw new UserError(`${flag} ${value} is too few: a Monte Carlo fit needs at least ${least.n} ${least.what} to resolve the prices it fits`);
  }
  return x;
}

function summary(r: CalibrationResult): string {
  const lines = [
    `${r.model}: ${r.converged ? 'converged' : 'NOT converged'} (${r.message})`,
    `route ${r.route.name}: ${r.route.reason}`,
    `backend ${r.backend}, ${r.jacobian === 'none' ? '' : `${r.jacobian} Jacobian, `}${r.iterations} iterations, ${r.evaluations} evaluations, ${r.seconds.toFixed(2)} s`,
    `quotes used ${r.quotes.used}, excluded ${r.quotes.excluded.length}`,
    `rmse_iv ${r.rmse_iv === null ? 'n/a' : (r.rmse_iv * 100).toFixed(4) + ' vol points'}, rmse_price ${r.rmse_price.toPrecision(4)}, objective ${r.objective.toExponential(4)}`,
    'parameter        value        stderr',
  ];
  for (const [k, v] of Object.entries(r.params)) {
    const se = r.stderr[k];
    lines.push(`${k.padEnd(10)} ${v.toPrecision(8).padStart(14)} ${se === null || se === undefined ? 'n/a' : se.toPrecision(3).padStart(12)}`);
  }
  if (r.slices) {
    // Slice models: one line per expiry, and what the arbitrage check found.
    lines.push('expiry            T        forward  rmse_iv  parameters');
    for (const s of r.slices) {
      const p = Object.entries(s.params).map(([k, v]) => `${k}=${Number(v.toPrecision(6))}`).join(' ');
      const label = /^\d{4}-\d{2}-\d{2}/.exec(s.expiry)?.[0] ?? s.expiry;
      lines.push(`${label.padEnd(12)} ${s.T.toFixed(5).padStart(8)} ${s.forward.toPrecision(7).padStart(14)} ${(100 * s.rmse_iv).toFixed(3).padStart(8)}  ${p}`);
    }
  }
  if (r.arbitrage) {
    const a = r.arbitrage;
    lines.push(
      `arbitrage ${a.free ? 'free' : 'FOUND'} on k in [${a.grid.k_min.toFixed(3)}, ${a.grid.k_max.toFixed(3)}] (${a.grid.points} points): ` +
        `${a.butterfly.length} butterfly, ${a.calendar.length} calendar, ${a.lee.length} Lee${r.arbitrage_free ? '; fit constrained arbitrage-free' : ''}`,
    );
  }
  return lines.join('\n');
}

/**
 * `--no-arbitrage` (constrain the fit) and `--allow-arbitrage` (drop the constraint) of slice
 * models; undefined leaves the model's default (svi off, ssvi/essvi on). Either flag with a
 * process model, both at once, or `--no-arbitrage` for black is a one-line error.
 */
export function arbitrageFlag(model: Model, o: { arbitrage?: boolean; allowArbitrage?: boolean }): boolean | undefined {
  const constrain = o.arbitrage === false;
  const allow = o.allowArbitrage === true;
  if (!constrain && !allow) return undefined;
  const flag = constrain ? '--no-arbitrage' : '--allow-arbitrage';
  if (constrain && allow) throw new UserError('give --no-arbitrage or --allow-arbitrage, not both');
  if (!isSliceModel(model)) throw new UserError(`${flag} applies to the slice models (${sliceModelNames().join(', ')}), not ${model.name}`);
  if (constrain && model.name === 'black') throw new UserError(`--no-arbitrage: black has no arbitrage-constrained fit (${model.slice.arbitrageFreeMeaning})`);
  return constrain;
}

export function register(program: Command): void {
  withReadOptions(
    program
      .command('calibrate')
      .description('fit Heston, Bates, Merton, rough Bergomi (Monte Carlo) or a per-expiry smile (Black, SVI, SSVI, eSSVI) to a canonical quote CSV')
      .requiredOption('--input <file>', 'canonical quote CSV (from `volfit normalize` or by hand); repeat it, give a folder (every .csv in it), or a file with a `surface` or `date` column, for many surfaces (JSON Lines out)', collectInputs)
      .addOption(new Option('--model <name>', 'model to fit').choices(modelNames()).makeOptionMandatory())
      .addOption(backendOption())
      .addOption(new Option('--objective <kind>', 'residual measure').choices(['iv', 'price']).default('iv'))
      .option('--start <k=v,...|fit.json>', 'starting parameters, or a previous fit (warm start)')
      .option('--prior <fit.json>', 'previous fit used as a Gaussian prior (MAP fit)')
      .addOption(new Option('--route <route>', 'optimizer route').choices(['auto', 'lm', 'global']).default('auto'))
      .option('--feller', 'penalise violations of the model constraints (Heston/Bates: Feller)')
      // Models without a characteristic function (rbergomi) are priced by Monte Carlo with common
      // random numbers (one seed for the whole fit); COS models ignore these three flags.
      .option('--paths <n>', `Monte Carlo paths per evaluation (rbergomi, at least ${MC_CALIBRATION_MINIMUM.paths})`, String(MC_CALIBRATION_DEFAULTS.paths))
      .option('--steps <n>', `Monte Carlo time steps over the longest expiry (rbergomi, ${MC_CALIBRATION_MINIMUM.steps} to 512)`, String(MC_CALIBRATION_DEFAULTS.steps))
      .option('--seed <n>', 'Monte Carlo seed, fixed for the whole fit (rbergomi)', String(MC_CALIBRATION_DEFAULTS.seed))
      .option('--no-arbitrage', 'svi, ssvi, essvi: constrain the fit to be arbitrage-free (the default of ssvi and essvi; svi: joint penalised polish)')
      .option('--allow-arbitrage', 'ssvi, essvi: drop the no-butterfly bounds (theta stays monotone)')
      .option('--json', 'print the result JSON instead of a summary')
      .option('--out <file>', 'also write the result JSON here (usable as --start/--prior later)')
      .option('--threads <n>', 'worker threads for many surfaces on the CPU (default: one per core)')
  )
    .action(async (o) => {
      // Several files, a folder or a file split by a surface/date column: src/cli/calibrateMany.ts.
      const files = expandInputs(o.input as string[]);
      const input = files[0];
      const startIsFile = o.start !== undefined && (/\.json$/i.test(o.start) || existsSync(o.start));
      if (o.out !== undefined) {
        checkOutputFile('--out', o.out, [
          ...files.map((path) => ({ flag: '--input', path })),
          { flag: '--start', path: startIsFile ? o.start : undefined },
          { flag: '--prior', path: o.prior },
        ]);
      }
      const many = isMany(files);
      const text = many ? '' : readInput(input);
      const model = getModel(o.model);
      let start: Record<string, number> | PriorSource | undefined;
      if (o.start !== undefined) {
        start = startIsFile ? readFit('--start', o.start) : parseKeyValues('--start', o.start);
      }
      const prior = o.prior !== undefined ? readFit('--prior', o.prior) : undefined;
      const arbitrageFree = arbitrageFlag(model, o);
      const slices = arbitrageFree !== undefined ? { arbitrageFree } : undefined;
      const mc = {
        paths: intFlag('--paths', o.paths, 2, 2 ** 31, { n: MC_CALIBRATION_MINIMUM.paths, what: 'paths' }),
        steps: intFlag('--steps', o.steps, 1, 512, { n: MC_CALIBRATION_MINIMUM.steps, what: 'time steps' }),
        seed: intFlag('--seed', o.seed, 0, 2 ** 32 - 1),
      };
      if (many) return calibrateManyCli(files, { o, model, start, startIsFile, prior, mc, slices });
      const t0 = Date.now();
      let lastPrint = 0;
      let result: CalibrationResult;
      try {
        result = await calibrateCsv(text, {
          model,
          createPricer: pricerFactoryFor(model, mc, stderrLogger),
          backend: o.backend,
          objective: o.objective,
          start,
          prior,
          route: o.route,
          constraints: o.feller ? 'penalty' : 'ignore',
          slices,
          log: stderrLogger,
          read: {
            ...readOptionsFrom(o),
          },
          // A progress line on stderr once a fit has run 2 s, at most one a second. The calibrator
          // reports every step and, while pricing, at least once a second (`working`), so a line
          // comes about every second in every stage, the first (probe) included.
          progress: (e) => {
            const now = Date.now();
            if (now - t0 < 2000 || now - lastPrint < 1000) return;
            lastPrint = now;
            const objective = Number.isFinite(e.objective) ? e.objective.toExponential(4) : 'n/a';
            process.stderr.write(
              `volfit: calibrate ${e.stage} step ${e.iteration}${e.working ? ' (pricing)' : ''}: objective ${objective}, ${e.evaluations} evaluations, ${e.seconds.toFixed(1)} s\n`,
            );
          },
        });
      } catch (e) {
        // A fault in the start or prior names that flag and its file, not the quotes.
        if (e instanceof CalibrationInputError && e.subject === 'start') throw new UserError(`--start${startIsFile ? ` ${o.start}` : ''}: ${e.message}`);
        if (e instanceof CalibrationInputError && e.subject === 'prior') throw new UserError(`--prior ${o.prior}: ${e.message}`);
        if (e instanceof CalibrationInputError || e instanceof CanonicalFormatError) throw new UserError(`${input}: ${e.message}`);
        throw e;
      }
      const json = JSON.stringify(result, null, 2);
      if (o.out !== undefined) writeOutput('--out', o.out, json + '\n');
      emit(o.json ? json : summary(result));
    });
}
