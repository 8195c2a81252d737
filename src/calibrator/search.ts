/**
 * calibrate()'s search strategy: from the prepared context to a first-order fit. The route
 * (route.ts) decides where LM starts, or that DE goes first; nested models from a cold or given
 * start take the staged route (staged.ts); an auto LM from a cold start tries further starts, and
 * a fit that is still suspect gets a global stage (route.ts: retryStarts, globalFallback). A
 * search on a large quote set's subsample ends with LM on all quotes.
 */
import type { LmResult } from '../optim/lm.js';
import { stagedFit } from './staged.js';
import { toModel } from './transforms.js';
import { chooseRoute, globalFallback, pinnedParams, rescueStarts, retryStarts, type RouteDecision } from './route.js';
import type { RouteName } from './result.js';
import type { FitContext } from './prepare.js';

/**
 * ftol and ptol of a warm start's exact-IV LM (prepare.ts: warmExact): what a warm fit is for is
 * its RMSE (to ~1e-4 vol points) and parameters well inside their standard errors, not f to
 * 1e-10. A step that lowers f by less than 1e-5 of it, or a Gauss-Newton step predicted to (ptol:
 * not taken), moves the RMSE by under 5e-6 of itself (3e-5 vol points at the anchor's worst day,
 * 6.6 vol points) and the parameters by a few hundredths of a standard error. On the BTC anchor's
 * 100-day chain: under 5 pricings a day instead of 11, every RMSE within 2.5e-5 vol points of
 * the fit run to ftol 1e-10.
 */
export const WARM_FTOL = 1e-5;

/**
 * ftol of a warm start's exact-IV LM with a prior (no ptol): a prior fit becomes the next day's
 * prior (its parameters and covariance), so its error compounds along a chain. On the anchor's
 * Bates chain with the default prior, WARM_FTOL with ptol let the chain drift (5 of QuantLib's
 * 20 days at or below its RMSE instead of 7, median 0.99 instead of 0.81 vol points); 1e-6 keeps
 * 7/20 and the median 0.81 of the first-order-then-polish route, at a third of its time.
 */
export const WARM_PRIOR_FTOL = 1e-6;

/**
 * The stop of a warm start's exact-IV LM: with a prior WARM_PRIOR_FTOL; without one, nested (jump)
 * models keep the polish's ftol (1e-10): their chains run along flat valleys to degenerate
 * corners (lambda -> its bound, sigmaJ -> 0), where a looser stop leaves fits short and the chain
 * drifts (anchor Bates without prior: 17 or 11 of QuantLib's 20 days at or below its RMSE instead
 * of 19); other models WARM_FTOL with ptol. calibrate's `lm` options override.
 */
function warmStop(ctx: FitContext): { ftol?: number; ptol?: number } {
  const stop = ctx.priorInfo ? { ftol: WARM_PRIOR_FTOL, ptol: 0 } : ctx.model.nested ? { ptol: 0 } : { ftol: WARM_FTOL, ptol: WARM_FTOL };
  return { ...stop, ...(ctx.opts.lm?.ftol !== undefined ? { ftol: ctx.opts.lm.ftol } : {}), ...(ctx.opts.lm?.ptol !== undefined ? { ptol: ctx.opts.lm.ptol } : {}) };
}

export interface SearchOutcome {
  fit: LmResult;
  routeName: RouteName;
  reason: string;
  /** The fit is on exact IV residuals already (a warm start's LM): no polish follows. */
  exact?: boolean;
}

/** The first-order fit of a prepared context (on all quotes), with its route and why. */
export async function searchFit(ctx: FitContext): Promise<SearchOutcome> {
  const { P, prep } = ctx;
  const request = ctx.opts.route ?? 'auto';
  let out: SearchOutcome;
  try {
    ctx.enterStage('probe');
    const decision = await chooseRoute({
      request,
      startKind: ctx.start.kind,
      dimension: P,
      quotes: prep.m,
      backend: ctx.backend.name,
      probe: ctx.probe,
      guesses: ctx.guesses,
      z0: ctx.z0,
      cube: ctx.cube,
    });
    ctx.report('probe', 0, decision.startObjective ?? NaN);
    if (ctx.warmExact && decision.name === 'lm' && !decision.lmStart) {
      ctx.objective.ivMode = 'exact';
      const fit = await ctx.runLm(ctx.objective, ctx.z0, 'polish', warmStop(ctx));
      return { fit, routeName: 'lm', reason: `${decision.reason}, on exact IV residuals from the start`, exact: true };
    }
    out = decision.name === 'global+lm' ? await globalFirst(ctx, decision) : await lmFirst(ctx, decision);
    const sub = ctx.sub;
    if (sub && Number.isFinite(out.fit.f)) {
      out.reason = `${out.reason}; search on a stratified subsample of ${sub.prep.m} of ${prep.m} quotes (${sub.evaluations} sets priced), then LM on all quotes`;
      out.fit = await ctx.runLm(ctx.firstOrder, out.fit.z, 'lm');
    }
  } finally {
    ctx.disposeSearch();
  }
  return out;
}

/** DE, then LM from its best point. */
async function globalFirst(ctx: FitContext, decision: RouteDecision): Promise<SearchOutcome> {
  const de = await ctx.runGlobal(await ctx.rankingObjective(), [ctx.z0]);
  const fit = await ctx.runLm(ctx.searchObjective, de.z, 'lm');
  const pinned = pinnedParams(ctx.model, toModel(fit.z, ctx.bounds), ctx.bounds);
  const reason = pinned.length ? `${decision.reason}; the fit ends with ${pinned.join(', ')} at a bound` : decision.reason;
  return { fit, routeName: decision.name, reason };
}

/** LM (or the staged route) first, then the fallback policy: further starts, then a global stage. */
async function lmFirst(ctx: FitContext, decision: RouteDecision): Promise<SearchOutcome> {
  const { model, bounds, searchObjective } = ctx;
  const request = ctx.opts.route ?? 'auto';
  const start = decision.lmStart ?? ctx.z0;
  let fit: LmResult;
  let routeName: RouteName = decision.name;
  let reason = decision.reason;
  // Nested models (Bates, Merton) from a cold start: base parameters first, then the extension
  // (src/calibrator/staged.ts). Not when the user forces plain LM.
  const staged = request === 'auto' && model.nested !== undefined && (ctx.start.kind === 'default' || ctx.start.kind === 'user');
  if (staged) {
    // Close enough to end the search: 1e-5 vol RMS (IV), 1e-8 of the mean price (price).
    const closeEnough = searchObjective.m * (ctx.kind === 'iv' ? 1e-10 : (1e-8 * ctx.meanPrice) ** 2);
    const s = await stagedFit(model, bounds, searchObjective, start, (p, z, o) => ctx.runLm(p, z, 'staged', o ?? {}, searchObjective.m), closeEnough);
    fit = s.fit;
    routeName = 'staged';
    reason = `${reason}; ${s.reason}`;
  } else {
    fit = await ctx.runLm(searchObjective, start, 'lm');
  }
  const pinnedOf = (f: LmResult) => pinnedParams(model, toModel(f.z, bounds), bounds);
  let pinned = pinnedOf(fit);
  // Pinned at a bound from a cold start: a local minimum on a model edge (Merton with sigmaJ -> 0
  // or vol -> 0, Heston kappa -> 0) is common; LM from the next-best probe points costs a fraction
  // of a global stage and usually lands in the right basin.
  for (const alt of retryStarts(model, bounds, request, fit, decision.alternatives)) {
    const other = await ctx.runLm(searchObjective, alt, 'lm');
    if (!(other.f < fit.f)) continue;
    reason = `${reason}; ${pinned.length ? `LM ended with ${pinned.join(', ')} at a bound, ` : ''}LM from another start improved the objective from ${fit.f.toExponential(3)} to ${other.f.toExponential(3)}`;
    fit = other;
    pinned = pinnedOf(fit);
    if (fit.reason === 'fabs') break;
  }
  let why = globalFallback(request, fit, pinned);
  // A given start, or a cold start with data-driven guesses (whose probe was small), whose LM fit
  // is suspect: LM from the best guesses and 16P Halton starts, ranked in one batch, before a
  // global stage. (A cold start without guesses had all of those points in its probe already.)
  const rescue = ctx.start.kind === 'user' || (ctx.start.kind === 'default' && ctx.guesses.length > 0);
  if (why !== null && rescue) {
    for (const alt of await rescueStarts(ctx.probe, ctx.cube, ctx.P, ctx.guesses)) {
      const other = await ctx.runLm(searchObjective, alt, 'lm');
      if (!(other.f < fit.f) && Number.isFinite(fit.f)) continue;
      reason = `${reason}; ${why}, so LM ran from the best of the probe's starts and improved the objective from ${fit.f.toExponential(3)} to ${other.f.toExponential(3)}`;
      fit = other;
      pinned = pinnedOf(fit);
      why = globalFallback(request, fit, pinned);
      if (why === null || fit.reason === 'fabs') break;
    }
  }
  if (why === null) return { fit, routeName, reason };
  if (ctx.opts.globalStage === false) return { fit, routeName, reason: `${reason}; ${why}: no global stage (globalStage: false)` };
  const de = await ctx.runGlobal(await ctx.rankingObjective(), Number.isFinite(fit.f) ? [fit.z, ctx.z0] : [ctx.z0]);
  const second = await ctx.runLm(searchObjective, de.z, 'lm');
  if (second.f < fit.f || !Number.isFinite(fit.f)) {
    return { fit: second, routeName: 'lm+global', reason: `${reason}; ${why}, so a global stage ran and improved the objective from ${fit.f.toExponential(3)} to ${second.f.toExponential(3)}` };
  }
  return { fit, routeName: 'lm+global', reason: `${reason}; ${why}, so a global stage ran but found nothing better (kept the LM fit)` };
}
