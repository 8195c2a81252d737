/**
 * calibrate()'s last stage: one exact evaluation at the fit, and the result (residuals, RMSEs,
 * the posterior, parameters on bounds, the message). Nothing here moves the parameters.
 */
import type { LmResult } from '../optim/lm.js';
import { sumSquares } from '../optim/problem.js';
import { modelImpliedVols } from './quotes.js';
import { posterior } from './posterior.js';
import { toModel } from './transforms.js';
import { pinnedParams } from './route.js';
import type { CalibrationResult } from './result.js';
import type { FitContext } from './prepare.js';
import type { PolishOutcome } from './polish.js';
import type { SearchOutcome } from './search.js';

/** The result of a fit: `search`'s route, `polished`'s parameters, priced exactly. */
export async function fitReport(ctx: FitContext, search: SearchOutcome, polished: PolishOutcome): Promise<CalibrationResult> {
  const { model, P, prep, bounds, priorInfo, objective, log, kind } = ctx;
  const { fit, capped: polishCapped, iterations: polishIterations } = polished;
  const { routeName, reason } = search;
  const start = ctx.start;
  const defaultedNames = Object.keys(start.defaulted);
  // Final exact evaluation at the fit for the report.
  objective.ivMode = 'exact';
  const zFit = fit.z;
  const pFit = toModel(zFit, bounds);
  // LM's last evaluation priced the fit already (analytic Jacobian): no second pricing.
  const prices = objective.pricedAt(zFit) ?? (await objective.prices(zFit, 1));
  const finalR = objective.residualsFromPrices(zFit, prices, 0);
  const f = sumSquares(finalR);
  const modelIv = modelImpliedVols(prep, prices);
  let se2 = 0, np = 0, sp2 = 0;
  const residuals: CalibrationResult['residuals'] = [];
  for (let i = 0; i < prep.m; i++) {
    const iv = modelIv[i];
    if (iv !== null) { se2 += (iv - prep.marketIv[i]) ** 2; np++; }
    sp2 += (prices[i] - prep.marketPrice[i]) ** 2;
    residuals.push({ row: prep.rows[i], market_iv: prep.marketIv[i], model_iv: iv, weight: prep.weight[i], strike: prep.set.strike[i], expiry: prep.set.T[i] });
  }
  let fData = 0;
  for (let i = 0; i < prep.m; i++) fData += finalR[i] * finalR[i];
  const s = priorInfo?.noise ?? 1;
  const dof = prep.m - P;
  const noise = dof > 0 ? s * Math.sqrt(fData / dof) : s;
  const scale = priorInfo ? 1 : dof > 0 ? fData / dof : NaN;
  // Parameters that end on a bound (the route's test: within PINNED of the range): the bound
  // transform flattens their directions (dp/dz -> 0), so LM's gradient test is met whatever the
  // data say, and J^T J is (near) singular in them. Where it is singular, the free parameters'
  // stderr come from their own block and the pinned ones' are null (posterior.ts).
  const pinned = pinnedParams(model, pFit, bounds);
  const pinnedIdx = pinned.map((n) => model.params.findIndex((x) => x.name === n));
  const post = Number.isFinite(scale)
    ? posterior(fit.J, prep.m + (priorInfo ? P : 0), P, zFit, bounds, scale, pinnedIdx)
    : { covariance: null, stderr: new Float64Array(P).fill(NaN), correlation: null };
  const names = model.params.map((x) => x.name);
  let converged = fit.converged;
  let message = polishCapped
    ? `converged (first-order fit); the exact-IV polish stopped at its ${polishIterations}-iteration cap, still improving slowly`
    : lmMessage(fit);
  if (pinned.length) {
    const where = pinnedIdx
      .map((j) => {
        const lower = pFit[j] - bounds.lower[j] < bounds.upper[j] - pFit[j];
        return `${names[j]} = ${pFit[j].toPrecision(4)} (${lower ? 'lower' : 'upper'} bound ${lower ? bounds.lower[j] : bounds.upper[j]})`;
      })
      .join(', ');
    if (2 * pinned.length > P) {
      // Most parameters on bounds: a corner of the box, not a fit of the data.
      converged = false;
      message = `not converged: ${pinned.length} of ${P} parameters ended at a bound (${where}): the bounds, not the data, hold them (the optimizer stopped with: ${message})`;
    } else {
      message = `${message}; warning: ${pinned.length === 1 ? 'a parameter' : `${pinned.length} parameters`} at a bound: ${where}`;
    }
    log(`warning: the ${model.name} fit ends with ${where} at a bound${converged ? '' : `: more than half of the ${P} parameters, reported as not converged`}`);
  }
  const num = (v: number) => (Number.isFinite(v) ? v : null);
  return {
    model: model.name,
    params: Object.fromEntries(names.map((n, i) => [n, pFit[i]])),
    stderr: Object.fromEntries(names.map((n, i) => [n, num(post.stderr[i])])),
    rmse_iv: np > 0 ? Math.sqrt(se2 / np) : null,
    rmse_price: Math.sqrt(sp2 / prep.m),
    objective: f,
    iterations: ctx.iterations,
    evaluations: ctx.evaluations(),
    route: { name: routeName, reason },
    converged,
    backend: objective.lastBackend,
    seconds: ctx.seconds(),
    quotes: { used: prep.m, excluded: prep.excluded },
    residuals,
    objective_kind: kind,
    correlations: post.correlation
      ? Object.fromEntries(names.map((a, i) => [a, Object.fromEntries(names.map((b, j) => [b, num(post.correlation![i * P + j])]))]))
      : null,
    covariance: post.covariance ? names.map((_, i) => names.map((__, j) => post.covariance![i * P + j])) : null,
    noise,
    history: ctx.history,
    message,
    jacobian: fit.jacobian,
    bounds: Object.fromEntries(names.map((n, i) => [n, [bounds.lower[i], bounds.upper[i]] as [number, number]])),
    prior: priorInfo !== undefined,
    ...(defaultedNames.length ? { start_defaults: { ...start.defaulted } } : {}),
  };
}

function lmMessage(fit: LmResult): string {
  switch (fit.reason) {
    case 'gtol': return 'converged: gradient orthogonal to the residuals (gtol)';
    case 'ftol': return 'converged: relative decrease of the objective below ftol';
    case 'xtol': return 'converged: relative parameter step below xtol';
    case 'fabs': return 'converged: exact fit';
    case 'stalled': return 'converged at the precision floor of the prices (no further decrease possible)';
    case 'max-iterations': return 'not converged: iteration limit reached';
    case 'max-evaluations': return 'not converged: evaluation limit reached';
    case 'non-finite-start': return 'not converged: non-finite prices';
  }
}
