import { Command, Option } from 'commander';
import { impliedVolsFromCsv } from '../../api/iv.js';
import { CanonicalFormatError } from '../../market/canonical.js';
import { UserError } from '../errors.js';
import { backendOption, checkOutputFile, emit, readOptionsFrom, withReadOptions } from '../io.js';
import { readInput } from '../parse.js';

export function register(program: Command): void {
  withReadOptions(
    program
      .command('iv')
      .description('implied volatility (Black-76) of every quote in a canonical quote CSV')
      .requiredOption('--input <file>', 'canonical quote CSV')
      .addOption(backendOption())
      .addOption(new Option('--format <fmt>', 'output format').choices(['csv', 'json']).default('csv'))
      .option('--out <file>', 'write here instead of stdout')
  )
    .action(async (o) => {
      if (o.out !== undefined) checkOutputFile('--out', o.out, [{ flag: '--input', path: o.input }]);
      const text = readInput(o.input);
      let report;
      try {
        report = await impliedVolsFromCsv(text, {
          backend: o.backend,
          ...readOptionsFrom(o),
        });
      } catch (e) {
        if (e instanceof CanonicalFormatError) throw new UserError(`${o.input}: ${e.message}`);
        throw e;
      }
      if (o.format === 'json') {
        emit(JSON.stringify(report), o.out);
      } else {
        const lines = ['row,iv,status,field'];
        for (const r of report.rows) lines.push(`${r.row},${r.iv ?? ''},${r.status},${r.field ?? ''}`);
        emit(lines.join('\n'), o.out);
      }
    });
}
