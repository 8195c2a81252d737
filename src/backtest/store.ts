/**
 * The backtest store: one DuckDB file (@duckdb/node-api). Tables: runs, days, fits (params,
 * stderr, covariance, rmse, route, seconds; slice models' per-expiry parameters as JSON in
 * `slices`), residuals, exclusions, quotes (what each day fitted, for the per-day reports),
 * published (a day's signed vol-feed updates file, JSON, when publishing) and regimes (the
 * flagged change points). Each day is written in one
 * transaction, so a run killed at any moment leaves whole days only; a re-run with the same
 * arguments (same run id) reads them back and continues after the last one. `days.record` holds
 * the day as the job produced it (JSON: doubles round-trip exactly), which is what a resumed run
 * replays and what `--json` and the report print.
 */
import { BOOLEAN, DOUBLE, DuckDBInstance, INTEGER, LIST, VARCHAR, listValue, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import type { UpdatesFile } from '../publish/publish.js';
import type { DaySink } from './run.js';
import type { DayDetail, DayRecord } from './types.js';

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS runs (run_id VARCHAR PRIMARY KEY, created VARCHAR NOT NULL, args VARCHAR NOT NULL, finished VARCHAR, seconds DOUBLE)`,
  `CREATE TABLE IF NOT EXISTS days (run_id VARCHAR NOT NULL, date VARCHAR NOT NULL, source VARCHAR, quotes INTEGER, stale BOOLEAN, stale_reason VARCHAR,
     best_model VARCHAR, cp_flagged BOOLEAN, cp_probability DOUBLE, cp_series VARCHAR, seconds DOUBLE, record VARCHAR NOT NULL, PRIMARY KEY (run_id, date))`,
  `CREATE TABLE IF NOT EXISTS fits (run_id VARCHAR NOT NULL, date VARCHAR NOT NULL, model VARCHAR NOT NULL, params VARCHAR, stderr VARCHAR, covariance VARCHAR,
     rmse_iv DOUBLE, bic DOUBLE, converged BOOLEAN, route VARCHAR, optimizer VARCHAR, seconds DOUBLE, error VARCHAR, slices VARCHAR, PRIMARY KEY (run_id, date, model))`,
  // Stores written before slice models were backtested.
  `ALTER TABLE fits ADD COLUMN IF NOT EXISTS slices VARCHAR`,
  `CREATE TABLE IF NOT EXISTS residuals (run_id VARCHAR NOT NULL, date VARCHAR NOT NULL, model VARCHAR NOT NULL, "row" INTEGER, market_iv DOUBLE, model_iv DOUBLE,
     weight DOUBLE, strike DOUBLE, expiry DOUBLE)`,
  `CREATE TABLE IF NOT EXISTS exclusions (run_id VARCHAR NOT NULL, date VARCHAR NOT NULL, "row" INTEGER, reason VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS quotes (run_id VARCHAR NOT NULL, date VARCHAR NOT NULL, "row" INTEGER, T DOUBLE, expiry VARCHAR, strike DOUBLE, is_call BOOLEAN,
     price DOUBLE, forward DOUBLE, discount DOUBLE, iv DOUBLE, weight DOUBLE)`,
  `CREATE TABLE IF NOT EXISTS published (run_id VARCHAR NOT NULL, date VARCHAR NOT NULL, model VARCHAR NOT NULL, signer VARCHAR NOT NULL, as_of VARCHAR NOT NULL,
     updates VARCHAR NOT NULL, PRIMARY KEY (run_id, date))`,
  `CREATE TABLE IF NOT EXISTS regimes (run_id VARCHAR NOT NULL, date VARCHAR NOT NULL, probability DOUBLE, series VARCHAR, PRIMARY KEY (run_id, date))`,
];

export interface RunRow {
  run_id: string;
  created: string;
  args: string;
  finished: string | null;
  seconds: number | null;
}

type Columns = Record<string, { type: DuckDBType; values: DuckDBValue[] }>;

export class BacktestStore {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly db: DuckDBConnection,
  ) {}

  static async open(path: string): Promise<BacktestStore> {
    const instance = await DuckDBInstance.create(path);
    const db = await instance.connect();
    for (const s of SCHEMA) await db.run(s);
    return new BacktestStore(instance, db);
  }

  close(): void {
    this.db.closeSync();
    this.instance.closeSync();
  }

  async startRun(runId: string, args: unknown): Promise<void> {
    await this.db.run(`INSERT INTO runs (run_id, created, args) VALUES ($id, $created, $args) ON CONFLICT DO NOTHING`, {
      id: runId,
      created: new Date().toISOString(),
      args: JSON.stringify(args),
    });
  }

  async finishRun(runId: string, seconds: number): Promise<void> {
    await this.db.run(`UPDATE runs SET finished = $f, seconds = $s WHERE run_id = $id`, { f: new Date().toISOString(), s: seconds, id: runId });
  }

  async runs(): Promise<RunRow[]> {
    const r = await this.db.runAndReadAll(`SELECT run_id, created, args, finished, seconds FROM runs ORDER BY created`);
    return r.getRowObjectsJS() as unknown as RunRow[];
  }

  async days(runId: string): Promise<DayRecord[]> {
    const r = await this.db.runAndReadAll(`SELECT record FROM days WHERE run_id = $id ORDER BY date`, { id: runId });
    return r.getRowObjectsJS().map((row) => JSON.parse(String(row.record)) as DayRecord);
  }

  async detail(runId: string, date: string): Promise<DayDetail> {
    const where = { id: runId, d: date };
    const ex = await this.db.runAndReadAll(`SELECT "row", reason FROM exclusions WHERE run_id = $id AND date = $d ORDER BY "row"`, where);
    const q = await this.db.runAndReadAll(`SELECT "row", T, expiry, strike, is_call, price, forward, discount, iv, weight FROM quotes WHERE run_id = $id AND date = $d ORDER BY "row"`, where);
    const res = await this.db.runAndReadAll(`SELECT model, "row", market_iv, model_iv, weight, strike, expiry FROM residuals WHERE run_id = $id AND date = $d ORDER BY model, "row"`, where);
    const residuals: DayDetail['residuals'] = {};
    for (const r of res.getRowObjectsJS()) {
      (residuals[String(r.model)] ??= []).push({ row: Number(r.row), market_iv: Number(r.market_iv), model_iv: r.model_iv === null ? null : Number(r.model_iv), weight: Number(r.weight), strike: Number(r.strike), expiry: Number(r.expiry) });
    }
    const pub = await this.db.runAndReadAll(`SELECT updates FROM published WHERE run_id = $id AND date = $d`, where);
    const updates = pub.getRowObjectsJS().map((r) => JSON.parse(String(r.updates)) as UpdatesFile)[0];
    return {
      ...(updates ? { updates } : {}),
      excluded: ex.getRowObjectsJS().map((r) => ({ row: Number(r.row), reason: String(r.reason) })),
      quotes: q.getRowObjectsJS().map((r) => ({
        row: Number(r.row), T: Number(r.T), expiry: String(r.expiry), strike: Number(r.strike), isCall: Boolean(r.is_call), price: Number(r.price),
        forward: Number(r.forward), discount: Number(r.discount), iv: Number(r.iv), weight: Number(r.weight),
      })),
      residuals,
    };
  }

  /** Rows of one table from column lists (one statement, whatever the row count). */
  private async insertColumns(table: string, runId: string, date: string, cols: Columns): Promise<void> {
    const names = Object.keys(cols);
    if (cols[names[0]].values.length === 0) return;
    const sql = `INSERT INTO ${table} (run_id, date, ${names.map((n) => `"${n}"`).join(', ')}) SELECT $run_id, $date, ${names.map((n) => `unnest($${n})`).join(', ')}`;
    const values: Record<string, DuckDBValue> = { run_id: runId, date };
    const types: Record<string, DuckDBType> = { run_id: VARCHAR, date: VARCHAR };
    for (const n of names) {
      values[n] = listValue(cols[n].values);
      types[n] = LIST(cols[n].type);
    }
    await this.db.run(sql, values, types);
  }

  /** One day, all tables, one transaction. */
  async saveDay(runId: string, rec: DayRecord, detail: DayDetail): Promise<void> {
    await this.db.run('BEGIN TRANSACTION');
    try {
      await this.db.run(
        `INSERT INTO days VALUES ($run, $date, $source, $quotes, $stale, $reason, $best, $flag, $p, $series, $seconds, $record)`,
        {
          run: runId, date: rec.date, source: rec.source, quotes: rec.quotes, stale: rec.stale, reason: rec.stale_reason, best: rec.best_model,
          flag: rec.change_point.flagged, p: rec.change_point.probability, series: JSON.stringify(rec.change_point.series), seconds: rec.seconds, record: JSON.stringify(rec),
        },
        { run: VARCHAR, date: VARCHAR, source: VARCHAR, quotes: INTEGER, stale: BOOLEAN, reason: VARCHAR, best: VARCHAR, flag: BOOLEAN, p: DOUBLE, series: VARCHAR, seconds: DOUBLE, record: VARCHAR },
      );
      const fits = Object.values(rec.fits);
      const col = <T>(type: DuckDBType, f: (x: T) => DuckDBValue, xs: T[]) => ({ type, values: xs.map(f) });
      await this.insertColumns('fits', runId, rec.date, {
        model: col(VARCHAR, (f) => f.model, fits),
        params: col(VARCHAR, (f) => JSON.stringify(f.params), fits),
        stderr: col(VARCHAR, (f) => JSON.stringify(f.stderr), fits),
        covariance: col(VARCHAR, (f) => JSON.stringify(f.covariance), fits),
        rmse_iv: col(DOUBLE, (f) => f.rmse_iv, fits),
        bic: col(DOUBLE, (f) => f.bic, fits),
        converged: col(BOOLEAN, (f) => f.converged, fits),
        route: col(VARCHAR, (f) => f.route, fits),
        optimizer: col(VARCHAR, (f) => f.optimizer, fits),
        seconds: col(DOUBLE, (f) => f.seconds, fits),
        error: col(VARCHAR, (f) => f.error ?? null, fits),
        slices: col(VARCHAR, (f) => (f.slices ? JSON.stringify(f.slices.map((x) => ({ expiry: x.expiry ?? null, T: x.T, forward: x.forward, params: x.params }))) : null), fits),
      });
      const res = Object.entries(detail.residuals).flatMap(([model, rs]) => rs.map((r) => ({ model, ...r })));
      await this.insertColumns('residuals', runId, rec.date, {
        model: col(VARCHAR, (r) => r.model, res),
        row: col(INTEGER, (r) => r.row, res),
        market_iv: col(DOUBLE, (r) => r.market_iv, res),
        model_iv: col(DOUBLE, (r) => r.model_iv, res),
        weight: col(DOUBLE, (r) => r.weight, res),
        strike: col(DOUBLE, (r) => r.strike, res),
        expiry: col(DOUBLE, (r) => r.expiry, res),
      });
      await this.insertColumns('exclusions', runId, rec.date, {
        row: col(INTEGER, (e) => e.row, detail.excluded),
        reason: col(VARCHAR, (e) => e.reason, detail.excluded),
      });
      const q = detail.quotes;
      await this.insertColumns('quotes', runId, rec.date, {
        row: col(INTEGER, (x) => x.row, q),
        T: col(DOUBLE, (x) => x.T, q),
        expiry: col(VARCHAR, (x) => x.expiry, q),
        strike: col(DOUBLE, (x) => x.strike, q),
        is_call: col(BOOLEAN, (x) => x.isCall, q),
        price: col(DOUBLE, (x) => x.price, q),
        forward: col(DOUBLE, (x) => x.forward, q),
        discount: col(DOUBLE, (x) => x.discount, q),
        iv: col(DOUBLE, (x) => x.iv, q),
        weight: col(DOUBLE, (x) => x.weight, q),
      });
      if (detail.updates) {
        const u = detail.updates;
        await this.db.run(`INSERT INTO published VALUES ($run, $date, $model, $signer, $asof, $updates)`, { run: runId, date: rec.date, model: u.model, signer: u.signer, asof: u.as_of, updates: JSON.stringify(u) });
      }
      if (rec.change_point.flagged) {
        await this.db.run(`INSERT INTO regimes VALUES ($run, $date, $p, $s)`, { run: runId, date: rec.date, p: rec.change_point.probability ?? 0, s: JSON.stringify(rec.change_point.series) });
      }
      await this.db.run('COMMIT');
    } catch (e) {
      await this.db.run('ROLLBACK');
      throw e;
    }
  }

  sink(runId: string): DaySink {
    return { completed: () => this.days(runId), saveDay: (rec, detail) => this.saveDay(runId, rec, detail) };
  }
}
