/**
 * `volfit verify-update --updates updates.json [--signer 0x..] [--now ISO] [--json]`: checks each
 * update of a `volfit publish` file (signature, signer, deadline, ranges; src/publish/verify.ts).
 * --json prints {"updates": [{"expiry", "valid", "reason"}]} (expiry: unix seconds; reason null
 * when valid); otherwise a line per update. Exit 1 when any update is invalid; a file that is not
 * an updates file is a one-line error, exit 2.
 */
import { Command } from 'commander';
import { PublishError } from '../../publish/errors.js';
import { verifyUpdates } from '../../publish/verify.js';
import { ExitStatus, UserError } from '../errors.js';
import { emit } from '../io.js';
import { readInput } from '../parse.js';
import { parseAddressFlag, parseTimeFlag } from './publish.js';

export const VERIFY_SUMMARY = 'check the signed vol-feed updates of volfit publish (signature, signer, deadline, ranges); exit 1 if any is invalid';

export function register(program: Command): void {
  program
    .command('verify-update')
    .description(VERIFY_SUMMARY)
    .requiredOption('--updates <file>', 'updates JSON of volfit publish')
    .option('--signer <address>', "expected signer (default: the file's own signer field)")
    .option('--now <iso>', 'time to check deadlines at (default: the clock)')
    .option('--json', 'print {"updates": [{"expiry", "valid", "reason"}]}')
    .action(async (o) => {
      const signer = parseAddressFlag('--signer', o.signer);
      const nowMs = parseTimeFlag('--now', o.now);
      const text = readInput(o.updates);
      let file: unknown;
      try {
        file = JSON.parse(text);
      } catch (e) {
        throw new UserError(`--updates ${o.updates}: not JSON (${(e as Error).message.split('\n')[0]})`);
      }
      let verdicts;
      try {
        verdicts = await verifyUpdates(file, { signer, nowMs });
      } catch (e) {
        if (e instanceof PublishError) throw new UserError(`--updates ${o.updates}: ${e.message}`);
        throw e;
      }
      if (o.json) emit(JSON.stringify({ updates: verdicts }, null, 2));
      else emit(verdicts.map((v) => `expiry ${v.expiry ?? '?'}  ${v.valid ? 'valid' : `INVALID: ${v.reason}`}`).join('\n') || 'no updates');
      if (verdicts.some((v) => !v.valid)) throw new ExitStatus(1);
    });
}
