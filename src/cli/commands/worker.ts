/**
 * `volfit worker --queue redis://host:port [--concurrency N]`: takes the fit jobs of `volfit
 * backtest --queue` coordinators (src/backtest/queue.ts) until SIGINT or SIGTERM, then finishes its
 * running jobs and exits. Any number of workers, on any machines that reach the Redis server.
 */
import type { Command } from 'commander';
import { stderrLogger } from '../../backends/backend.js';
import { UserError } from '../errors.js';
import { parseIntegerFlag } from '../parse.js';

export function register(program: Command): void {
  program
    .command('worker')
    .description('take `volfit backtest --queue` fit jobs from a BullMQ queue on Redis until stopped')
    .requiredOption('--queue <redis://host:port>', 'the Redis server of the coordinator')
    .option('--concurrency <n>', 'jobs at once in this process', '1')
    .option('--lock-ms <ms>', 'job lock duration: a job of a worker that died is retried about this long later', '30000')
    .action(async (o: { queue: string; concurrency: string; lockMs: string }) => {
      const concurrency = parseIntegerFlag('--concurrency', o.concurrency, 1, 256);
      const lockMs = parseIntegerFlag('--lock-ms', o.lockMs, 1000, 3_600_000);
      const { startWorker, QueueUrlError } = await import('../../backtest/queue.js');
      let w: Awaited<ReturnType<typeof startWorker>>;
      try {
        w = await startWorker(o.queue, { concurrency, lockMs, log: stderrLogger });
      } catch (e) {
        if (e instanceof QueueUrlError) throw new UserError(e.message);
        throw e;
      }
      stderrLogger(`worker: waiting for jobs on ${o.queue} (concurrency ${concurrency})`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          stderrLogger('worker: stopping after the running jobs');
          void w.close().then(resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
