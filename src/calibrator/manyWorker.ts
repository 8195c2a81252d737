/**
 * A calibrateMany worker thread: fits the surfaces the main thread hands it, one at a time, with
 * the f64 CPU `calibrate`. The model is resolved here by name (getModel) and its pricer from the
 * engine registry (calibrateOptionsFor -> pricerFactoryFor), since functions do not cross threads; log lines and progress go back as
 * messages. Every outcome, a fit or the error a fit threw, is a message: the thread itself never
 * fails on a surface.
 */
import { parentPort } from 'node:worker_threads';
import { getModel } from '../models/index.js';
import { calibrate, type ProgressEvent } from './calibrate.js';
import { calibrateOptionsFor, errorKind, type WorkerJob, type WorkerMessage } from './many.js';

const port = parentPort;
if (!port) throw new Error('manyWorker runs as a worker thread of calibrateMany');
const post = (m: WorkerMessage) => port.postMessage(m);

port.on('message', async (job: WorkerJob) => {
  // Test hook (test/calibrator/many.test.ts): the thread dies on this surface, as a native crash would.
  if (process.env.VOLFIT_TEST_WORKER_EXIT === String(job.index)) process.exit(3);
  try {
    const model = getModel(job.settings.model);
    const log = job.wantLog ? (message: string) => post({ type: 'log', index: job.index, message }) : () => {};
    const progress = job.wantProgress ? (event: ProgressEvent) => post({ type: 'progress', index: job.index, event }) : undefined;
    const result = await calibrate(job.quotes, calibrateOptionsFor(model, job.settings, 'cpu', undefined, log, progress));
    post({ type: 'result', index: job.index, result });
  } catch (e) {
    post({ type: 'failed', index: job.index, error: e instanceof Error ? e.message : String(e), kind: errorKind(e) });
  }
});
post({ type: 'ready' });
