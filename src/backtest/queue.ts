/**
 * The backtest over a BullMQ queue on Redis (>= 6.2, maxmemory-policy noeviction): the command is
 * the coordinator (it plans each day's fits from its chain, puts one job per (day, model) on the
 * queue, waits for them, runs the detector and writes the store); `volfit worker` processes, on
 * any number of machines, take the jobs and run exactly the fit a single-process run would run
 * (`fitOne`). A day's models run in parallel; days follow each other, since each day's plan (warm
 * start, prior, cold restart after a change point) needs the day before. Jobs carry their quotes,
 * so workers need no access to the input files; only the coordinator touches DuckDB.
 *
 * A worker that dies mid-job holds a lock that expires (`lockMs`); BullMQ's stalled-job check
 * then puts the job back on the queue and another worker runs it from the start (the fit is
 * deterministic, so the result is the same). A job that throws is retried (3 attempts).
 */
import { Queue, QueueEvents, Worker, type ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../backends/backend.js';
import { chooseFitBackend } from '../demo/fits.js';
import type { DayQuote } from './input.js';
import { fitOne, type DayFitter, type FitOutcome, type FitPlan } from './run.js';

export const QUEUE_NAME = 'volfit-backtest';

export class QueueUrlError extends Error {}

/** `redis://[user:password@]host:port[/db]` as BullMQ's connection options. */
export function redisConnection(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QueueUrlError(`--queue ${url}: not a URL (redis://host:port)`);
  }
  if (u.protocol !== 'redis:') throw new QueueUrlError(`--queue ${url}: only redis:// URLs are supported`);
  const port = u.port === '' ? 6379 : Number(u.port);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new QueueUrlError(`--queue ${url}: database "${u.pathname.slice(1)}" is not a number`);
  return {
    host: u.hostname || '127.0.0.1',
    port,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    // BullMQ's blocking connections must not give up on a slow command.
    maxRetriesPerRequest: null,
  } as ConnectionOptions;
}

interface JobData {
  quotes: DayQuote[];
  plan: FitPlan;
  backend: 'auto' | 'webgpu' | 'cpu';
}

/** Redis must be >= 6.2 and must not evict keys (an evicted job would be lost silently). */
async function checkRedis(url: string, connection: ConnectionOptions): Promise<void> {
  const client = new Redis({ ...(connection as RedisOptions), lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  // The connection's own error (ECONNREFUSED, ...) is the one worth reporting; without a listener ioredis prints it.
  let cause: Error | undefined;
  client.on('error', (e: Error) => (cause ??= e));
  try {
    await client.connect();
    const info = await client.info('server');
    const version = /redis_version:(\d+)\.(\d+)/.exec(info);
    if (version && (Number(version[1]) < 6 || (Number(version[1]) === 6 && Number(version[2]) < 2))) {
      throw new QueueUrlError(`--queue ${url}: Redis ${version[1]}.${version[2]} is too old (BullMQ needs >= 6.2)`);
    }
    let policy: string | undefined;
    try {
      policy = ((await client.config('GET', 'maxmemory-policy')) as string[])[1];
    } catch {
      // CONFIG is disabled on some managed Redis: nothing to check then.
    }
    if (policy && policy !== 'noeviction') throw new QueueUrlError(`--queue ${url}: Redis maxmemory-policy is ${policy}; set noeviction (jobs must not be evicted)`);
  } catch (e) {
    if (e instanceof QueueUrlError) throw e;
    throw new QueueUrlError(`--queue ${url}: cannot reach Redis (${(cause ?? (e as Error)).message})`);
  } finally {
    client.disconnect();
  }
}

/** The coordinator's side: a DayFitter that runs each day's fits as queue jobs. */
export async function queueFitter(url: string, runId: string, backend: JobData['backend'], log: Logger): Promise<{ fitter: DayFitter; close: () => Promise<void> }> {
  const connection = redisConnection(url);
  await checkRedis(url, connection);
  const queue = new Queue<JobData, FitOutcome>(QUEUE_NAME, { connection });
  const events = new QueueEvents(QUEUE_NAME, { connection });
  await events.waitUntilReady();
  const fitter: DayFitter = async (date, quotes, plans) => {
    const jobs = await Promise.all(
      plans.map((plan) =>
        queue.add(`${plan.model}`, { quotes: [...quotes], plan, backend }, {
          // Deterministic ids: a resumed coordinator finds a job it already queued (same fit, same result).
          jobId: `${runId}-${date}-${plan.model}-${plan.route}`,
          attempts: 3,
          backoff: { type: 'fixed', delay: 1000 },
          removeOnComplete: { age: 3600 },
          removeOnFail: { age: 24 * 3600 },
        }),
      ),
    );
    log(`queue ${date}: ${jobs.length} jobs (${plans.map((p) => `${p.model} ${p.route}`).join(', ')})`);
    const results = await Promise.all(jobs.map((j) => j.waitUntilFinished(events) as Promise<FitOutcome>));
    return new Map(plans.map((p, i) => [p.model, results[i]]));
  };
  return { fitter, close: async () => void (await Promise.allSettled([queue.close(), events.close()])) };
}

export interface WorkerOptions {
  concurrency: number;
  /** How long a job's lock lasts without renewal: a dead worker's job is retried about this long after it died. */
  lockMs?: number;
  log: Logger;
}

/** `volfit worker`: takes fit jobs until closed. */
export async function startWorker(url: string, opts: WorkerOptions): Promise<{ worker: Worker; close: () => Promise<void> }> {
  const connection = redisConnection(url);
  await checkRedis(url, connection);
  const backends = new Map<string, Awaited<ReturnType<typeof chooseFitBackend>>>();
  const worker = new Worker<JobData, FitOutcome>(
    QUEUE_NAME,
    async (job) => {
      const { quotes, plan } = job.data;
      opts.log(`worker: job ${job.id} start (${plan.model} ${plan.route}, ${quotes.length} quotes)`);
      let backend = backends.get(job.data.backend);
      if (!backend) {
        backend = await chooseFitBackend(job.data.backend, opts.log);
        backends.set(job.data.backend, backend);
      }
      const out = await fitOne(quotes, plan, backend, opts.log);
      opts.log(`worker: job ${job.id} done (${out.rec.error ? `failed: ${out.rec.error}` : `rmse_iv ${out.rec.rmse_iv}`})`);
      return out;
    },
    {
      connection,
      concurrency: opts.concurrency,
      ...(opts.lockMs ? { lockDuration: opts.lockMs, stalledInterval: opts.lockMs } : {}),
    },
  );
  await worker.waitUntilReady();
  return { worker, close: () => worker.close() };
}
