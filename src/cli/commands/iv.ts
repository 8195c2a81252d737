import { Command, Option } from 'commander';
import { impliedVolsStream } from '../../api/iv.js';
import { CanonicalFormatError } from '../../market/canonical.js';
import { UserError } from '../errors.js';
import { backendOption, checkOutputFile, readOptionsFrom, withReadOptions } from '../io.js';
import { inputError, openInput, openOutput, type TextSink } from '../stream.js';

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
      const input = openInput(o.input);
      const json = o.format === 'json';
      // Streamed: each batch of rows is written as it is computed, so memory stays flat. The text
      // is the same as writing the whole report at once: {"backend":...,"rows":[...]} or CSV lines.
      // JSON's "backend" is the first batch's (a device lost later finishes on the CPU, and says so).
      let sink: TextSink | undefined;
      let written = 0;
      try {
        await impliedVolsStream(input, { backend: o.backend, ...readOptionsFrom(o) }, async (rows, backend) => {
          const parts: string[] = [];
          if (sink === undefined) {
            sink = openOutput(o.out);
            parts.push(json ? `{"backend":${JSON.stringify(backend)},"rows":[` : 'row,iv,status,field\n');
          }
          for (const r of rows) {
            parts.push(json ? `${written++ > 0 ? ',' : ''}${JSON.stringify(r)}` : `${r.row},${r.iv ?? ''},${r.status},${r.field ?? ''}\n`);
          }
          await sink.write(parts.join(''));
        });
        if (json) await sink!.write(']}\n');
        await sink!.close();
      } catch (e) {
        sink?.abort();
        input.destroy();
        if (e instanceof CanonicalFormatError) throw new UserError(`${o.input}: ${e.message}`);
        throw inputError(o.input, e);
      }
    });
}
