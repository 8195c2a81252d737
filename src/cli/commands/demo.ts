/**
 * `volfit demo [--backend auto|webgpu|cpu] [--out dir] [--json]`: bundled real data (Deribit BTC
 * snapshot 2026-01-05) -> normalize -> fit Black, SSVI, Heston, Bates -> HTML report + summary.
 * Progress on stderr; the summary (or, with --json, the summary and every calibration result
 * as JSON) on stdout. Parsing only; the work is src/demo/demo.ts.
 */
import { Command } from 'commander';
import { stderrLogger } from '../../backends/backend.js';
import { DEMO_MODELS, formatDemoSummary, runDemo, type DemoModel } from '../../demo/demo.js';
import { REPORT_FILES } from '../../report/build.js';
import { UserError } from '../errors.js';
import { backendOption, checkOutputDir, emit } from '../io.js';
import { parseNumberFlag } from '../parse.js';

export function register(program: Command): void {
  program
    .command('demo')
    .description('fit Black, SSVI, Heston and Bates to a bundled real Deribit BTC snapshot and write an HTML report')
    .addOption(backendOption())
    .option('--out <dir>', 'report folder (index.html inside)', 'volfit-report')
    .option('--json', 'print the summary and each model\'s calibration result as JSON')
    .option('--bootstrap <n>', 'refits within bid/ask per model for the Greeks stability (0 = skip)', '3')
    .option('--models <list>', `comma-separated subset of ${DEMO_MODELS.join(',')}`, DEMO_MODELS.join(','))
    .option('--quiet', 'no progress on stderr')
    .action(async (o) => {
      const n = parseNumberFlag('--bootstrap', o.bootstrap)!;
      if (!Number.isInteger(n) || n < 0) throw new UserError(`--bootstrap must be a whole number >= 0, got ${o.bootstrap}`);
      const models = (o.models as string).split(',').map((m) => m.trim()).filter(Boolean);
      const unknown = models.filter((m) => !(DEMO_MODELS as readonly string[]).includes(m));
      if (unknown.length || models.length === 0) {
        throw new UserError(`--models: ${unknown.length ? `unknown ${unknown.join(', ')}` : 'empty'}; choose from ${DEMO_MODELS.join(', ')}`);
      }
      checkOutputDir('--out', o.out, REPORT_FILES);
      const summary = await runDemo({
        backend: o.backend,
        out: o.out,
        bootstrap: n,
        models: models as DemoModel[],
        log: o.quiet ? undefined : stderrLogger,
      });
      emit(o.json ? JSON.stringify(summary, null, 2) : formatDemoSummary(summary));
    });
}
