/**
 * `volfit` command line: argument parsing only; every command calls the library.
 * Each command lives in ./commands/<name>.ts and exports `register(program)`.
 */
import { Command, CommanderError } from 'commander';
import { releaseGpu, setGpuVerbose } from '../backends/webgpu/device.js';
import { BackendUnavailableError, stderrLogger } from '../backends/backend.js';
import { ExitStatus, UserError } from './errors.js';
import { commands, requestedCommand, type CommandEntry } from './commands/index.js';

/**
 * The program with `only` registered in full (its module loaded), or, without it, every command
 * as a name and summary for `volfit --help` and the unknown-command error.
 */
export async function buildProgram(only?: CommandEntry | 'all'): Promise<Command> {
  const program = new Command('volfit')
    .description('Calibrate option-pricing models to market quotes on the GPU (WebGPU) with an f64 CPU twin.')
    .option('--verbose', 'print WebGPU discovery detail and the native driver messages on stderr')
    .exitOverride()
    // Commander's own parse errors as one line, like every other user error.
    .configureOutput({ outputError: (text, write) => write(`volfit: ${text.trim().replace(/\s*\n\s*/g, ' ')} (see volfit --help)\n`) })
    .hook('preAction', (cmd) => setGpuVerbose(!!cmd.opts().verbose, stderrLogger));
  for (const entry of commands) {
    if (only === 'all' || only === entry) (await entry.load()).register(program);
    else if (!only) program.command(entry.name).description(entry.summary);
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(requestedCommand(argv.slice(2)));
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are "errors" to commander but successes to the user.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof ExitStatus) return e.code;
    if (e instanceof UserError || e instanceof BackendUnavailableError) {
      process.stderr.write(`volfit: error: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`volfit: internal error: ${(e as Error).stack ?? e}\n`);
    return 1;
  } finally {
    await releaseGpu();
  }
}
