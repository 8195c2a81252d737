/**
 * `volfit backtest`: the nightly recalibration job over daily snapshots (src/backtest). With
 * `--db` every day is stored as it finishes and a re-run with the same arguments resumes; without
 * `--input`, `--db x --report dir` (and/or `--json`) re-renders the stored run without refitting.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { stderrLogger } from '../../backends/backend.js';
import { CanonicalFormatError } from '../../market/canonical.js';
import { MarketFormatError } from '../../market/errors.js';
import { modelNames } from '../../models/index.js';
import { UserError } from '../errors.js';
import { backendOption, checkOutputDir, checkOutputFile, emit } from '../io.js';
import { parseIntegerFlag, parseNumberFlag } from '../parse.js';
import { DEFAULT_WEIGHTS } from '../../market/weights.js';
import { BacktestInputError } from '../../backtest/input.js';
import { DEFAULT_PRIOR_DRIFT, DEFAULT_PRIOR_STRENGTH, runBacktest, type BacktestOptions, type PriorMode, type BacktestResult } from '../../backtest/run.js';
import { dayJson, type DayDetail, type DayRecord } from '../../backtest/types.js';
import type { BacktestPublish } from '../../backtest/publish.js';

interface Flags {
  input?: string;
  venue: 'auto' | 'deribit' | 'cboe' | 'canonical';
  underlying?: string;
  models: string;
  backend: 'auto' | 'webgpu' | 'cpu';
  db?: string;
  report?: string;
  from?: string;
  to?: string;
  json?: boolean;
  prior: 'off' | 'previous';
  priorStrength: string;
  priorDrift: string;
  priorMode: PriorMode;
  threads?: string;
  queue?: string;
  publish?: boolean;
  publishKey?: string;
  deadline: string;
  halfLife: string;
  chainId?: string;
  verifyingContract?: string;
}

function dateFlag(flag: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`))) throw new UserError(`${flag} ${v}: not a date (YYYY-MM-DD)`);
  return v;
}

function modelsFlag(v: string): string[] {
  const known = modelNames();
  const models = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (models.length === 0) throw new UserError('--models: no model given');
  for (const m of models) if (!known.includes(m)) throw new UserError(`--models: unknown model "${m}" (known: ${known.join(', ')})`);
  if (new Set(models).size !== models.length) throw new UserError(`--models ${v}: a model is named twice`);
  return models;
}

/** The options that decide the results: a run is resumed only by a command line with the same ones. */
function runId(o: BacktestOptions): string {
  const key = { input: resolve(o.input), venue: o.venue, underlying: o.underlying ?? null, models: o.models, backend: o.backend, prior: o.prior, strength: o.priorStrength, drift: o.priorDrift, from: o.from ?? null, to: o.to ?? null };
  // The prior's mode joined the key later: runs with the mode that was the only one then ('map') keep their ids.
  if (o.prior === 'previous' && o.priorMode !== 'map') Object.assign(key, { priorMode: o.priorMode });
  const p = o.publish;
  // Publishing is part of the run (a signer's address, never the key): older runs' ids stay as they were without it.
  if (p) Object.assign(key, { publish: { model: p.model, signer: p.account.address, budget: p.budgetSeconds, halfLife: p.halfLifeSeconds, chainId: p.chainId ?? null, contract: p.verifyingContract ?? null } });
  return createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
}

function contract(days: readonly DayRecord[], seconds: number, db: string | null) {
  return {
    days: days.map(dayJson),
    change_points: days.filter((d) => d.change_point.flagged).map((d) => d.date),
    stale_days: days.filter((d) => d.stale).map((d) => d.date),
    seconds,
    db,
  };
}

function summary(days: readonly DayRecord[], models: readonly string[], seconds: number): string {
  const lines = [`date        quotes  ${models.map((m) => `${m} rmse`.padStart(12)).join(' ')}  best     change  note`];
  for (const d of days) {
    const rm = models.map((m) => {
      const f = d.fits[m];
      return (f?.rmse_iv === null || !f ? 'failed' : `${(100 * f.rmse_iv).toFixed(2)} ${f.route === 'cold' ? 'c' : 'w'}`).padStart(12);
    });
    const p = d.change_point.probability;
    const note = [d.stale ? `STALE: ${d.stale_reason}` : '', d.change_point.flagged ? `CHANGE POINT (${d.change_point.series.join(', ')})` : ''].filter(Boolean).join('; ');
    lines.push(`${d.date}  ${String(d.quotes).padStart(6)}  ${rm.join(' ')}  ${(d.best_model ?? '-').padEnd(7)}  ${p === null ? '   -  ' : p.toFixed(3).padStart(6)}  ${note}`);
  }
  lines.push(`rmse in vol points (c cold, w warm); ${days.length} days, ${days.filter((d) => d.change_point.flagged).length} change points, ${days.filter((d) => d.stale).length} stale, ${seconds.toFixed(1)} s`);
  return lines.join('\n');
}

async function openStore(path: string) {
  const { BacktestStore } = await import('../../backtest/store.js');
  try {
    return await BacktestStore.open(path);
  } catch (e) {
    throw new UserError(`--db ${path}: cannot open as a DuckDB database (${(e as Error).message.split('\n')[0]})`);
  }
}

/** `--db x` without `--input`: the stored run (the latest) printed and/or rendered, no fitting. */
async function rerender(o: Flags): Promise<void> {
  if (!o.db) throw new UserError('give --input (a folder of daily snapshots or a canonical CSV with a date column), or --db with --report/--json to re-render a stored run');
  if (!existsSync(o.db)) throw new UserError(`--db ${o.db}: no such file`);
  if (!o.report && !o.json) throw new UserError('--db without --input re-renders a stored run: give --report <dir> and/or --json');
  if (o.report) checkOutputDir('--report', o.report, ['index.html'], [{ flag: '--db', path: o.db }]);
  const store = await openStore(o.db);
  try {
    const runs = await store.runs();
    if (runs.length === 0) throw new UserError(`--db ${o.db}: holds no backtest run`);
    const run = runs[runs.length - 1];
    const days = await store.days(run.run_id);
    const models = (JSON.parse(run.args) as { models: string[] }).models;
    if (o.report) await writeReportFrom(o.report, days, models, (date) => store.detail(run.run_id, date));
    const seconds = run.seconds ?? days.reduce((s, d) => s + d.seconds, 0);
    emit(o.json ? JSON.stringify(contract(days, seconds, o.db), null, 2) : summary(days, models, seconds));
  } finally {
    store.close();
  }
}

/** `--queue redis://...`: the day fits go to BullMQ workers (`volfit worker`). */
async function openQueue(url: string, id: string, backend: Flags['backend']) {
  const { queueFitter, QueueUrlError } = await import('../../backtest/queue.js');
  try {
    return await queueFitter(url, id, backend, stderrLogger);
  } catch (e) {
    if (e instanceof QueueUrlError) throw new UserError(e.message);
    throw e;
  }
}

async function writeReportFrom(dir: string, days: DayRecord[], models: readonly string[], detail: (date: string) => Promise<DayDetail>): Promise<void> {
  const { writeBacktestReport } = await import('../../backtest/report.js');
  const path = await writeBacktestReport(dir, days, models, detail, stderrLogger);
  stderrLogger(`report: ${path}`);
}

/** `--publish` / `--publish-key`: the signer (from the key file, else VOLFIT_SIGNER_KEY, as `volfit publish` reads it) and the feed's settings. */
async function publishFlags(o: Flags, models: readonly string[]): Promise<BacktestPublish | undefined> {
  if (!o.publish && o.publishKey === undefined) return undefined;
  const { publishModel, PUBLISHABLE } = await import('../../backtest/publish.js');
  const { parseAddressFlag, parseDuration } = await import('./publish.js');
  const { signerAccount } = await import('../../publish/key.js');
  const { PublishError } = await import('../../publish/errors.js');
  const model = publishModel(models);
  if (!model) throw new UserError(`--publish: a feed publishes SVI slices; add one of ${PUBLISHABLE.join(', ')} to --models (got ${models.join(',')})`);
  const halfLifeSeconds = parseNumberFlag('--half-life', o.halfLife)!;
  if (!(halfLifeSeconds > 0) || !Number.isFinite(halfLifeSeconds)) throw new UserError(`--half-life must be a positive number of seconds (got '${o.halfLife}')`);
  const budgetSeconds = parseDuration('--deadline', o.deadline);
  const chainId = o.chainId === undefined ? undefined : parseIntegerFlag('--chain-id', o.chainId, 1, Number.MAX_SAFE_INTEGER);
  const verifyingContract = parseAddressFlag('--verifying-contract', o.verifyingContract);
  try {
    const account = signerAccount(o.publishKey === undefined ? undefined : o.publishKey);
    return { account, model, budgetSeconds, halfLifeSeconds, ...(chainId !== undefined ? { chainId } : {}), ...(verifyingContract ? { verifyingContract } : {}) };
  } catch (e) {
    // The key module names --key; here the flag is --publish-key.
    if (e instanceof PublishError) throw new UserError(e.message.replace(/^--key /, '--publish-key ').replace('give --key <file>', 'give --publish-key <file>'));
    throw e;
  }
}

async function run(o: Flags): Promise<void> {
  const input = o.input!;
  if (!existsSync(input)) throw new UserError(`--input ${input}: no such file or folder`);
  const strength = parseNumberFlag('--prior-strength', o.priorStrength)!;
  if (!(strength > 0) || !Number.isFinite(strength)) throw new UserError(`--prior-strength ${o.priorStrength}: must be a positive number`);
  const drift = parseNumberFlag('--prior-drift', o.priorDrift)!;
  if (!(drift >= 0) || !Number.isFinite(drift)) throw new UserError(`--prior-drift ${o.priorDrift}: must be a number >= 0`);
  const threads = o.threads === undefined ? undefined : Number(o.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 256)) throw new UserError(`--threads ${o.threads}: must be an integer 1..256`);
  const opts: BacktestOptions = {
    input,
    venue: o.venue,
    ...(o.underlying ? { underlying: o.underlying } : {}),
    models: modelsFlag(o.models),
    backend: o.backend,
    prior: o.prior,
    priorStrength: strength,
    priorDrift: drift,
    priorMode: o.priorMode,
    from: dateFlag('--from', o.from),
    to: dateFlag('--to', o.to),
    threads,
    log: stderrLogger,
  };
  if (opts.from && opts.to && opts.from > opts.to) throw new UserError(`--from ${opts.from} is after --to ${opts.to}`);
  const inputs = [{ flag: '--input', path: input }, { flag: '--publish-key', path: o.publishKey }];
  if (o.db) checkOutputFile('--db', o.db, inputs);
  if (o.report) checkOutputDir('--report', o.report, ['index.html'], [...inputs, { flag: '--db', path: o.db }]);
  const publish = await publishFlags(o, opts.models);
  if (publish) opts.publish = publish;
  // A report without --db still needs each day's quotes and residuals: an in-memory store.
  const store = o.db || o.report ? await openStore(o.db ?? ':memory:') : undefined;
  let result: BacktestResult;
  try {
    const id = runId(opts);
    const publishArgs = publish ? { model: publish.model, signer: publish.account.address, budget_seconds: publish.budgetSeconds, chain_id: publish.chainId ?? null } : undefined;
    if (store) await store.startRun(id, { ...opts, log: undefined, publish: publishArgs, input: resolve(input) });
    const queue = o.queue ? await openQueue(o.queue, id, o.backend) : undefined;
    try {
      result = await runBacktest(opts, store?.sink(id), queue?.fitter);
    } catch (e) {
      if (e instanceof BacktestInputError || e instanceof MarketFormatError || e instanceof CanonicalFormatError) throw new UserError(e.message);
      throw e;
    } finally {
      await queue?.close();
    }
    for (const n of result.notes) stderrLogger(n);
    if (store) await store.finishRun(id, result.seconds);
    if (o.report) await writeReportFrom(o.report, result.days, opts.models, (date) => store!.detail(id, date));
  } finally {
    store?.close();
  }
  emit(o.json ? JSON.stringify(contract(result.days, result.seconds, o.db ?? null), null, 2) : summary(result.days, opts.models, result.seconds));
}

export function register(program: Command): void {
  program
    .command('backtest')
    .description('recalibrate every day of a series of snapshots (warm starts, priors, stale days, change points, model choice; DuckDB store, HTML report)')
    .option('--input <dir|file>', 'a folder of daily venue snapshots (a YYYY-MM-DD in each file name) or a canonical CSV with a date column')
    .addOption(new Option('--venue <venue>', 'venue of the snapshots').choices(['auto', 'deribit', 'cboe', 'canonical']).default('auto'))
    .option('--underlying <coin>', 'Deribit: BTC or ETH (mixed files)')
    .option('--models <list>', 'models to fit each day, comma-separated', 'black,heston,bates')
    .addOption(backendOption())
    .option('--db <file.duckdb>', 'store every day here (DuckDB); a re-run with the same arguments resumes; without --input: re-render it')
    .option('--report <dir>', 'write the HTML report (index.html, and days/<date>/index.html per day)')
    .option('--from <date>', 'first day (YYYY-MM-DD)')
    .option('--to <date>', 'last day (YYYY-MM-DD)')
    .option('--json', 'print the result JSON')
    .addOption(new Option('--prior <mode>', "day d's fit uses day d-1's as a Gaussian prior (previous) or only as its start (off)").choices(['off', 'previous']).default('previous'))
    .addOption(new Option('--prior-mode <mode>', "check: the day's fit is the data's own optimum from the previous fit, tested against the prior (chi-square; a conflict below 1 %); map: data and prior fitted together (MAP)").choices(['check', 'map']).default('check'))
    .option('--prior-strength <w>', 'the prior covariance is the previous posterior covariance / w (1: full strength; smaller: looser)', String(DEFAULT_PRIOR_STRENGTH))
    .option('--prior-drift <sd>', "a day's random-walk standard deviation of each parameter in the fit's unconstrained coordinates, added to the prior's variance (0: none)", String(DEFAULT_PRIOR_DRIFT))
    .option('--threads <n>', 'worker threads of a day\'s cold fits (default: one per process model)')
    .option('--queue <redis://host:port>', 'coordinate: put the day fits on a BullMQ queue for `volfit worker` processes (Redis >= 6.2, noeviction)')
    .option('--publish', "sign each day's ssvi (else svi, essvi) fit as vol-feed updates (key from VOLFIT_SIGNER_KEY); the report compares them with the next day's market")
    .option('--publish-key <file>', "as --publish, the signer's hex private key from this file")
    .option('--deadline <duration>', 'publishing: oracle latency budget, deadline = data time + this (s, m, h, d)', '5m')
    .option('--half-life <seconds>', "publishing: staleness half-life of the updates' confidence", String(DEFAULT_WEIGHTS.halfLifeSeconds))
    .option('--chain-id <n>', 'publishing: EIP-712 domain chain id')
    .option('--verifying-contract <address>', 'publishing: EIP-712 domain verifying contract (the VolFeed address)')
    .action(async (o: Flags) => {
      if (o.input === undefined) return rerender(o);
      return run(o);
    });
}
