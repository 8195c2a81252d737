/**
 * Which optimizer runs: Levenberg-Marquardt alone, or a global stage (DE) first.
 *
 * - Forced by the user: 'lm' or 'global' (DE then LM).
 * - auto, warm start (a previous fit, or a prior's mean): LM alone; these starts are near.
 * - auto, a given start (`--start k=v`): LM from it, or on the CPU from the data-driven guess
 *   (firstGuess.ts) when that prices PROBE_RATIO times better. LM in the bounded space recovers
 *   from QuantLib's standard wrong start on most equity and crypto surfaces; when its fit is
 *   suspect (below), LM from the best RESCUE_STARTS of the guesses and 16P Halton points (one
 *   batch) comes before any global stage.
 * - auto, cold start (no start: the model's defaults): on WebGPU, DE then LM (a generation is one
 *   dispatch). On the CPU, a probe prices the default start, the data-driven guesses and K = 16P
 *   Halton points of the search box in ONE batch (rank-grade pricing), and LM starts from the
 *   best of them.
 * - A start that cannot be priced: DE then LM.
 * - After an auto LM from a cold start, a fit that ends with a parameter pinned at a bound first
 *   tries LM from the next MULTI_STARTS best probe points (cheap: no new probe), keeping the best
 *   fit; when a fit is still pinned or did not converge (the collapse kappa -> 0 QuantLib's LM
 *   shows on crypto surfaces), DE then LM runs, and the better fit is kept ('lm+global').
 *   `retryStarts` and `globalFallback` are that policy; search.ts runs it.
 */
import type { Model } from '../models/types.js';
import { boundPosition, toModel, toUnconstrained, type Bounds } from './transforms.js';
import type { RouteName } from './result.js';

export type RouteRequest = 'auto' | 'lm' | 'global';
export type StartKind = 'default' | 'user' | 'fit' | 'prior';

export const PROBE_RATIO = 4;
/**
 * Probe points per parameter. 4P left cold Merton starts in the wrong basin (LM and DE then end
 * on the sigmaJ -> 0 edge, e.g. seed 707); 16P (64 sets for Merton, one batch: ~0.1 s at 40
 * quotes, ~0.4 s for Heston on a 240-quote subsample) finds it.
 */
export const PROBE_POINTS_PER_PARAM = 16;
/** Halton points per parameter of a cold probe that has data-driven guesses. */
export const GUARD_POINTS_PER_PARAM = 4;
/** A parameter within this fraction of its bound range from a bound counts as pinned. */
export const PINNED = 1e-3;

export interface RouteInput {
  request: RouteRequest;
  startKind: StartKind;
  dimension: number;
  quotes: number;
  backend: 'webgpu' | 'cpu';
  z0: Float64Array;
  cube: { toZ(u: Float64Array): Float64Array };
  /** Objective of each point of a batch (n x P, row-major). */
  probe(points: Float64Array): Promise<number[]>;
  /** Data-driven starts (firstGuess.ts), in z: in the cold probe after the model's default start. */
  guesses?: Float64Array[];
}

export interface RouteDecision {
  name: RouteName;
  reason: string;
  startObjective?: number;
  /** Where LM should start when not at the given start (the best probe point), in z. */
  lmStart?: Float64Array;
  /**
   * Cold-start probe only: the next-best probe points (ascending objective, at most
   * MULTI_STARTS), other LM starts to try before a global stage when the first LM ends at a bound.
   */
  alternatives?: Float64Array[];
}

/** Further LM starts from the probe tried before a global stage (see RouteDecision.alternatives). */
export const MULTI_STARTS = 2;

// Halton points: an even cover of the box with few points, deterministic.
const PRIMES = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
function halton(index: number, base: number): number {
  let f = 1;
  let r = 0;
  let i = index;
  while (i > 0) {
    f /= base;
    r += f * (i % base);
    i = Math.floor(i / base);
  }
  return r;
}

export async function chooseRoute(input: RouteInput): Promise<RouteDecision> {
  const P = input.dimension;
  const where = `${P} parameters, ${input.quotes} quotes, ${input.backend}`;
  if (input.request === 'lm') return { name: 'lm', reason: 'forced by the user (--route lm)' };
  if (input.request === 'global') return { name: 'global+lm', reason: 'forced by the user (--route global)' };
  if (input.startKind === 'fit' || input.startKind === 'prior') {
    return { name: 'lm', reason: `warm start from a previous fit (${input.startKind === 'fit' ? '--start' : '--prior'}): LM alone` };
  }
  if (input.startKind === 'user') return givenStart(input, where);
  if (input.backend === 'webgpu') {
    return { name: 'global+lm', reason: `cold start (no start given) on WebGPU, where a DE generation is one dispatch: global stage then LM (${where})` };
  }
  // With data-driven guesses a few Halton points only guard against a guess gone wrong; a fit
  // that ends suspect gets the full set (rescueStarts) before any global stage.
  const K = (input.guesses?.length ? GUARD_POINTS_PER_PARAM : PROBE_POINTS_PER_PARAM) * P;
  // Row 0: the model's default start; then the data-driven guesses; then K Halton points.
  const rows = [input.z0, ...(input.guesses ?? []), ...haltonPoints(input.cube, P, K)];
  const pts = stackRows(rows, P);
  const f = await input.probe(pts);
  const n = rows.length;
  let best = 0;
  for (let k = 1; k < n; k++) if (f[k] < f[best] || !Number.isFinite(f[best])) best = k;
  // Probe points other than LM's start, best first, as fallback starts.
  const ranked = Array.from({ length: n }, (_, k) => k).filter((k) => Number.isFinite(f[k])).sort((a, b) => f[a] - f[b]);
  const alternativesBut = (chosen: number) => ranked.filter((k) => k !== chosen).slice(0, MULTI_STARTS).map((k) => rows[k]);
  const probed = `${K} probe points${input.guesses?.length ? ` and ${input.guesses.length} data-driven starts` : ''}`;
  if (!Number.isFinite(f[best])) {
    return { name: 'global+lm', reason: `cold start: neither the model's default start nor ${probed} can be priced; global stage first (${where})` };
  }
  if (best !== 0 && f[0] > PROBE_RATIO * f[best]) {
    return {
      name: 'lm',
      reason: `cold start: LM from the best of ${probed} (objective ${f[best].toExponential(3)}; the model's default start gave ${f[0].toExponential(3)}) (${where})`,
      startObjective: f[best],
      lmStart: rows[best],
      alternatives: alternativesBut(best),
    };
  }
  return {
    name: 'lm',
    reason: `cold start: LM from the model's default start, within ${PROBE_RATIO}x of the best of ${probed} (${where})`,
    startObjective: f[0],
    alternatives: alternativesBut(0),
  };
}

/**
 * A given start, priced in one batch with the data-driven guesses (on the CPU): LM from the given
 * start, unless the best guess prices PROBE_RATIO times better (then LM from it: a start far from
 * the data, e.g. QuantLib's standard one, costs LM twice the iterations and often a bound).
 */
async function givenStart(input: RouteInput, where: string): Promise<RouteDecision> {
  const guesses = input.backend === 'cpu' ? (input.guesses ?? []) : [];
  const f = await input.probe(stackRows([input.z0, ...guesses], input.dimension));
  let best = 0;
  for (let k = 1; k < f.length; k++) if (f[k] < f[best] || !Number.isFinite(f[best])) best = k;
  if (!Number.isFinite(f[best])) return { name: 'global+lm', reason: `the given start cannot be priced: global stage first (${where})`, startObjective: f[0] };
  if (best !== 0 && !(f[0] <= PROBE_RATIO * f[best])) {
    return {
      name: 'lm',
      reason: `LM from the data-driven guess (objective ${f[best].toExponential(3)}; the given start gave ${f[0].toExponential(3)}) (${where})`,
      startObjective: f[best],
      lmStart: guesses[best - 1],
    };
  }
  return { name: 'lm', reason: `LM from the given start (${where})`, startObjective: f[0] };
}

/** K Halton points of the search cube (indices 1..K, kept off the faces), as z rows. */
export function haltonPoints(cube: { toZ(u: Float64Array): Float64Array }, P: number, K: number): Float64Array[] {
  return Array.from({ length: K }, (_, i) => cube.toZ(Float64Array.from({ length: P }, (__, j) => 0.02 + 0.96 * halton(i + 1, PRIMES[j % PRIMES.length]))));
}

function stackRows(rows: readonly Float64Array[], P: number): Float64Array {
  const out = new Float64Array(rows.length * P);
  rows.forEach((r, k) => out.set(r, k * P));
  return out;
}

/**
 * The rescue of a given start (`--start k=v`) whose LM fit is suspect (globalFallback): the
 * data-driven guesses and 16P Halton points priced in one batch by the probe, the best
 * RESCUE_STARTS of them as further LM starts, before any global stage.
 */
export async function rescueStarts(
  probe: (points: Float64Array) => Promise<number[]>,
  cube: { toZ(u: Float64Array): Float64Array },
  P: number,
  guesses: readonly Float64Array[],
): Promise<Float64Array[]> {
  const rows = [...guesses, ...haltonPoints(cube, P, PROBE_POINTS_PER_PARAM * P)];
  const f = await probe(stackRows(rows, P));
  return rows.map((_, k) => k).filter((k) => Number.isFinite(f[k])).sort((a, b) => f[a] - f[b]).slice(0, RESCUE_STARTS).map((k) => rows[k]);
}

/** LM starts of a rescue (rescueStarts). */
export const RESCUE_STARTS = 2;

/** Names of parameters sitting (within PINNED of the range) on a finite bound. */
export function pinnedParams(model: Model, p: Float64Array, bounds: Bounds): string[] {
  const pos = boundPosition(p, bounds);
  return model.params.filter((_, i) => Number.isFinite(pos[i]) && (pos[i] < PINNED || pos[i] > 1 - PINNED)).map((s) => s.name);
}

/** What the fallback policy reads of an LM fit. */
export interface LmOutcome {
  z: Float64Array;
  f: number;
  converged: boolean;
  reason: string;
}

/**
 * Further LM starts after an auto LM from a cold start (`alternatives` from the probe), best
 * first; none when the fit is exact or did not converge, or the route was forced. A fit pinned
 * at a bound first tries itself with the pinned parameters moved back to the model's initial
 * values (the other parameters are often right, and only the edge is wrong). Jump models
 * (Model.nested) also have interior local minima 1-2 vol points off (Merton seeds 749, 761 of a
 * sweep) that no bound test sees, hence their alternatives even for a fit that is not pinned;
 * other models (Heston) stop at a converged fit inside the bounds.
 */
export function retryStarts(model: Model, bounds: Bounds, request: RouteRequest, fit: LmOutcome, alternatives: Float64Array[] | undefined): Float64Array[] {
  if (request !== 'auto' || !fit.converged || fit.reason === 'fabs' || alternatives === undefined) return [];
  const pf = toModel(fit.z, bounds);
  const pinned = pinnedParams(model, pf, bounds);
  if (!pinned.length) return model.nested ? alternatives : [];
  model.params.forEach((spec, j) => { if (pinned.includes(spec.name)) pf[j] = spec.initial; });
  return [toUnconstrained(pf, bounds), ...alternatives];
}

/**
 * Why an auto route runs a global stage (DE then LM) after LM, or null: the start gave
 * non-finite prices, LM did not converge, or it ended with parameters at a bound.
 */
export function globalFallback(request: RouteRequest, fit: LmOutcome, pinned: readonly string[]): string | null {
  if (request !== 'auto') return null;
  if (!Number.isFinite(fit.f)) return 'the start gives non-finite prices';
  if (!fit.converged) return `LM did not converge (${fit.reason})`;
  if (pinned.length) return `LM ended with ${pinned.join(', ')} at a bound`;
  return null;
}
