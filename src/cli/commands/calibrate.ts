import { existsSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { calibrateCsv } from '../../calibrator/csv.js';
import { CalibrationInputError } from '../../calibrator/transforms.js';
import type { PriorSource } from '../../calibrator/posterior.js';
import type { CalibrationResult } from '../../calibrator/result.js';
import { CanonicalFormatError } from '../../market/canonical.js';
import { getModel, modelNames } from '../../models/index.js';
import { stderrLogger } from '../../backends/backend.js';
import { UserError } from '../errors.js';
import { backendOption, emit, readOptionsFrom, withReadOptions } from '../io.js';
import { MC_CALIBRATION_DEFAULTS, pricerFactoryFor } from '../../calibrator/pricers.js';
import { parseKeyValues, readInput } from '../parse.js';

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

/** An integer flag in [min, max] (Monte Carlo settings), as a one-line error otherwise. */
function intFlag(flag: string, value: string, min: number, max: number): number {
  const x = Number(value);
  if (!Number.isInteger(x) || x < min || x > max) throw new UserError(`${flag} must be an integer in [${min}, ${max}], got '${value}'`);
  return x;
}

function summary(r: CalibrationResult): string {
  const lines = [
    `${r.model}: ${r.converged ? 'converged' : 'NOT converged'} (${r.message})`,
    `route ${r.route.name}: ${r.route.reason}`,
    `backend ${r.backend}, ${r.jacobian} Jacobian, ${r.iterations} iterations, ${r.evaluations} evaluations, ${r.seconds.toFixed(2)} s`,
    `quotes used ${r.quotes.used}, excluded ${r.quotes.excluded.length}`,
    `rmse_iv ${r.rmse_iv === null ? 'n/a' : (r.rmse_iv * 100).toFixed(4) + ' vol points'}, rmse_price ${r.rmse_price.toPrecision(4)}, objective ${r.objective.toExponential(4)}`,
    'parameter        value        stderr',
  ];
  for (const [k, v] of Object.entries(r.params)) {
    const se = r.stderr[k];
    lines.push(`${k.padEnd(10)} ${v.toPrecision(8).padStart(14)} ${se === null ? 'n/a' : se.toPrecision(3).padStart(12)}`);
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  withReadOptions(
    program
      .command('calibrate')
      .description('fit Heston, Bates, Merton or rough Bergomi (Monte Carlo) to a canonical quote CSV (weighted least squares in IV or price)')
      .requiredOption('--input <file>', 'canonical quote CSV (from `volfit normalize` or by hand)')
      .addOption(new Option('--model <name>', 'model to fit').choices(modelNames()).makeOptionMandatory())
      .addOption(backendOption())
      .addOption(new Option('--objective <kind>', 'residual measure').choices(['iv', 'price']).default('iv'))
      .option('--start <k=v,...|fit.json>', 'starting parameters, or a previous fit (warm start)')
      .option('--prior <fit.json>', 'previous fit used as a Gaussian prior (MAP fit)')
      .addOption(new Option('--route <route>', 'optimizer route').choices(['auto', 'lm', 'global']).default('auto'))
      .option('--feller', 'penalise violations of the model constraints (Heston/Bates: Feller)')
      // Models without a characteristic function (rbergomi) are priced by Monte Carlo with common
      // random numbers (one seed for the whole fit); COS models ignore these three flags.
      .option('--paths <n>', 'Monte Carlo paths per evaluation (rbergomi)', String(MC_CALIBRATION_DEFAULTS.paths))
      .option('--steps <n>', 'Monte Carlo time steps over the longest expiry (rbergomi, at most 512)', String(MC_CALIBRATION_DEFAULTS.steps))
      .option('--seed <n>', 'Monte Carlo seed, fixed for the whole fit (rbergomi)', String(MC_CALIBRATION_DEFAULTS.seed))
      .option('--json', 'print the result JSON instead of a summary')
      .option('--out <file>', 'also write the result JSON here (usable as --start/--prior later)')
  )
    .action(async (o) => {
      const text = readInput(o.input);
      const model = getModel(o.model);
      let start: Record<string, number> | PriorSource | undefined;
      if (o.start !== undefined) {
        start = /\.json$/i.test(o.start) || existsSync(o.start) ? readFit('--start', o.start) : parseKeyValues('--start', o.start);
      }
      const prior = o.prior !== undefined ? readFit('--prior', o.prior) : undefined;
      const mc = { paths: intFlag('--paths', o.paths, 2, 2 ** 31), steps: intFlag('--steps', o.steps, 1, 512), seed: intFlag('--seed', o.seed, 0, 2 ** 32 - 1) };
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
        if (e instanceof CalibrationInputError || e instanceof CanonicalFormatError) throw new UserError(`${o.input}: ${e.message}`);
        throw e;
      }
      const json = JSON.stringify(result, null, 2);
      if (o.out) writeFileSync(o.out, json + '\n');
      emit(o.json ? json : summary(result));
    });
}
