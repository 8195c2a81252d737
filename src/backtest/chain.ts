/**
 * What a backtest carries from one day to the next: the last good fit of each model (the next
 * day's start and prior), the books of the good days (the stale test's "usual"), the change-point
 * detector and whether the next day must start cold. `commit` is the only way a day enters it,
 * for a day just fitted and for a stored day replayed on resume, so a resumed run continues from
 * exactly the state an uninterrupted one had.
 */
import { Bocpd, DEFAULT_BOCPD, type BocpdOptions } from './bocpd.js';
import { seriesSpecs, WATCHED_PARAMS } from './series.js';
import type { DayRecord, FitRecord } from './types.js';
import type { BookStats } from './input.js';

export class Chain {
  readonly lastGood = new Map<string, FitRecord>();
  readonly goodBooks: BookStats[] = [];
  /** The next non-stale day starts cold (after a change point). */
  restartNext = false;
  private readonly detector: Bocpd;
  /** Each watched parameter's standard error on the first day that gave one: the unit of its series. */
  private readonly unit = new Map<string, number>();

  constructor(
    readonly reference: string | null,
    readonly options: { restartAfterShift: boolean; skipStale: boolean; bocpd?: Partial<BocpdOptions> },
  ) {
    this.detector = new Bocpd(seriesSpecs(reference), { ...DEFAULT_BOCPD, ...options.bocpd });
  }

  /** The detector's observation of a day: its market series and the reference model's fit. */
  observation(record: Pick<DayRecord, 'market' | 'fits'>): Record<string, number | null> {
    const obs: Record<string, number | null> = { ...record.market };
    const ref = this.reference;
    const fit = ref ? record.fits[ref] : undefined;
    if (!ref || !fit || fit.error !== undefined) return obs;
    obs[`rmse_${ref}`] = fit.rmse_iv;
    for (const p of WATCHED_PARAMS[ref] ?? []) {
      const key = `${ref}.${p}`;
      const se = fit.stderr?.[p];
      if (!this.unit.has(key) && typeof se === 'number' && se > 0 && Number.isFinite(se)) this.unit.set(key, se);
      const u = this.unit.get(key);
      const v = fit.params?.[p];
      obs[key] = u !== undefined && typeof v === 'number' ? v / u : null;
    }
    return obs;
  }

  /** A day enters the chain; returns its change-point outcome (not flagged on stale days, which the detector does not see). */
  commit(record: Omit<DayRecord, 'change_point' | 'observation' | 'evidence'>): Pick<DayRecord, 'change_point' | 'observation' | 'evidence'> {
    if (record.stale && this.options.skipStale) {
      return { change_point: { flagged: false, probability: null, series: [] }, observation: {}, evidence: {} };
    }
    const observation = this.observation(record);
    const cp = this.detector.observe(observation);
    const flagged = cp.probability !== null && cp.probability > 0.5;
    for (const [model, fit] of Object.entries(record.fits)) if (fit.error === undefined && fit.params) this.lastGood.set(model, fit);
    this.goodBooks.push(record.book);
    this.restartNext = flagged && this.options.restartAfterShift;
    return { change_point: { flagged, probability: cp.probability, series: cp.series }, observation, evidence: cp.evidence };
  }
}
