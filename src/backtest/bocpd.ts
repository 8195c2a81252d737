/**
 * Bayesian online change-point detection (Adams & MacKay 2007, arXiv:0710.3742) over several daily
 * series at once, each with an unknown mean and variance per regime (Normal-Gamma prior, Student-t
 * predictive); the series are taken as independent given the run length, so their log predictive
 * densities add.
 *
 * Convention: run length r_t = 0 means "x_t is the first observation of a new regime". The joint
 * of a change is H * p(x_t | prior) summed over the previous run lengths, the growth of run r is
 * (1 - H) * p(x_t | run r). With the paper's own indexing (the change's mass uses the old runs'
 * predictives) P(r_t = 0 | x_1:t) equals H on every day and only later days reveal a change; with
 * this one the day whose values the old regime cannot explain carries the probability itself, so
 * the detector answers on the day (online) and the next day can start cold.
 *
 * A new regime's prior is centred on the series' previous value (mu0 = x_{t-1}), broad in the mean
 * (kappa0) and with a within-regime standard deviation of about `scale` (alpha0 = 2, beta0 = scale^2,
 * so E[sigma^2] = scale^2).
 */
import { logGamma } from '../util/gamma.js';

export interface SeriesSpec {
  name: string;
  /** Typical within-regime standard deviation of the series, in its units. */
  scale: number;
}

export interface BocpdOptions {
  /** Prior probability of a change on any day (constant hazard 1 / expected regime length). */
  hazard: number;
  /** Prior pseudo-count on the regime mean (small: a new regime may sit anywhere). */
  kappa0: number;
  /** Run lengths kept (older mass is folded into the longest). */
  maxRun: number;
}

export const DEFAULT_BOCPD: BocpdOptions = { hazard: 1 / 100, kappa0: 0.05, maxRun: 400 };

interface Stats {
  mu: number;
  kappa: number;
  alpha: number;
  beta: number;
}

export interface ChangeOutcome {
  /** P(r_t = 0 | x_1:t): the probability that this day starts a new regime; null on the first observation. */
  probability: number | null;
  /** Series whose value favours a new regime (log Bayes factor > 1), strongest first. */
  series: string[];
  /** Log Bayes factor new regime vs the current ones, per series observed. */
  evidence: Record<string, number>;
  /** Most probable run length after this day. */
  runLength: number;
}

const ALPHA0 = 2;

/** Student-t log density of x under the Normal-Gamma posterior predictive of `s`. */
function logPredictive(s: Stats, x: number): number {
  const nu = 2 * s.alpha;
  const scale2 = (s.beta * (s.kappa + 1)) / (s.alpha * s.kappa);
  const d = (x - s.mu) ** 2 / scale2;
  return logGamma((nu + 1) / 2) - logGamma(nu / 2) - 0.5 * Math.log(nu * Math.PI * scale2) - ((nu + 1) / 2) * Math.log1p(d / nu);
}

function updated(s: Stats, x: number): Stats {
  const kappa = s.kappa + 1;
  return { mu: (s.kappa * s.mu + x) / kappa, kappa, alpha: s.alpha + 0.5, beta: s.beta + (s.kappa * (x - s.mu) ** 2) / (2 * kappa) };
}

function logSumExp(v: readonly number[]): number {
  const m = Math.max(...v);
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (const x of v) s += Math.exp(x - m);
  return m + Math.log(s);
}

/**
 * The detector's state; feed it one observation per day with `observe`. A series missing from an
 * observation (undefined or not finite) contributes nothing that day and keeps its statistics.
 */
export class Bocpd {
  private logP: number[] = [];
  /** stats[r][series] for each run length r kept. */
  private stats: Array<Array<Stats | null>> = [];
  private last: Array<number | undefined>;

  constructor(
    readonly specs: readonly SeriesSpec[],
    readonly options: BocpdOptions = DEFAULT_BOCPD,
  ) {
    this.last = specs.map(() => undefined);
  }

  private prior(i: number, x: number): Stats {
    const scale = this.specs[i].scale;
    return { mu: this.last[i] ?? x, kappa: this.options.kappa0, alpha: ALPHA0, beta: scale * scale };
  }

  observe(values: Record<string, number | null | undefined>): ChangeOutcome {
    const xs = this.specs.map((s) => {
      const v = values[s.name];
      return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
    });
    const seen = xs.flatMap((x, i) => (x === undefined ? [] : [i]));
    if (this.logP.length === 0) {
      this.logP = [0];
      this.stats = [this.specs.map((_, i) => (xs[i] === undefined ? null : updated(this.prior(i, xs[i]!), xs[i]!)))];
      seen.forEach((i) => (this.last[i] = xs[i]));
      return { probability: null, series: [], evidence: {}, runLength: 0 };
    }
    const H = this.options.hazard;
    // Per series: log predictive under a new regime and under each current run.
    const newLp = this.specs.map((_, i) => (xs[i] === undefined ? 0 : logPredictive(this.prior(i, xs[i]!), xs[i]!)));
    const runLp = this.stats.map((row) => row.map((s, i) => (xs[i] === undefined ? 0 : logPredictive(s ?? this.prior(i, xs[i]!), xs[i]!))));
    const growth = this.logP.map((lp, r) => lp + Math.log1p(-H) + runLp[r].reduce((a, b) => a + b, 0));
    const change = Math.log(H) + newLp.reduce((a, b) => a + b, 0);
    const all = [change, ...growth];
    const z = logSumExp(all);
    let logP = all.map((v) => v - z);
    let stats: Array<Array<Stats | null>> = [
      this.specs.map((_, i) => (xs[i] === undefined ? null : updated(this.prior(i, xs[i]!), xs[i]!))),
      ...this.stats.map((row) => row.map((s, i) => (xs[i] === undefined ? s : updated(s ?? this.prior(i, xs[i]!), xs[i]!)))),
    ];
    if (logP.length > this.options.maxRun) {
      const tail = logSumExp(logP.slice(this.options.maxRun - 1));
      logP = [...logP.slice(0, this.options.maxRun - 1), tail];
      stats = stats.slice(0, this.options.maxRun);
    }
    const evidence: Record<string, number> = {};
    for (const i of seen) {
      // The old regimes' mixture predictive of this series, weighted by the run-length posterior before today.
      const mix = logSumExp(this.logP.map((lp, r) => lp + runLp[r][i]));
      evidence[this.specs[i].name] = newLp[i] - mix;
    }
    this.logP = logP;
    this.stats = stats;
    seen.forEach((i) => (this.last[i] = xs[i]));
    const series = Object.entries(evidence)
      .filter(([, e]) => e > 1)
      .sort((a, b) => b[1] - a[1])
      .map(([n]) => n);
    let runLength = 0;
    for (let r = 1; r < logP.length; r++) if (logP[r] > logP[runLength]) runLength = r;
    return { probability: Math.exp(logP[0]), series, evidence, runLength };
  }
}
