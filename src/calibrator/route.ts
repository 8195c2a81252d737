/**
 * Which optimizer runs: Levenberg-Marquardt alone, or a global stage (DE) first.
 *
 * - Forced by the user: 'lm' or 'global' (DE then LM).
 * - auto, warm start (a previous fit, or a prior's mean): LM alone; these starts are near.
 * - auto otherwise: a probe prices the start and K quasi-random points of the bounds' box in ONE
 *   batch (K = 4P on the CPU, 16P on WebGPU where a larger batch costs about the same). If the
 *   start's objective is more than PROBE_RATIO times the best probe's, or not finite, the start
 *   is poor: DE then LM. Otherwise LM alone.
 * - After an auto LM, a fit that did not converge or has a parameter pinned at a bound (the
 *   collapse kappa -> 0 QuantLib's LM shows on crypto surfaces) triggers DE then LM, and the
 *   better of the two fits is kept ('lm+global').
 */
import type { Model } from '../models/types.js';
import { boundPosition, type Bounds } from './transforms.js';
import type { RouteName } from './result.js';

export type RouteRequest = 'auto' | 'lm' | 'global';
export type StartKind = 'default' | 'user' | 'fit' | 'prior';

export const PROBE_RATIO = 4;
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
}

export interface RouteDecision {
  name: RouteName;
  reason: string;
  startObjective?: number;
}

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
  if (input.request === 'lm') return { name: 'lm', reason: 'forced by the user (--route lm)' };
  if (input.request === 'global') return { name: 'global+lm', reason: 'forced by the user (--route global)' };
  if (input.startKind === 'fit' || input.startKind === 'prior') {
    return { name: 'lm', reason: `warm start from a previous fit (${input.startKind === 'fit' ? '--start' : '--prior'}): LM alone` };
  }
  const K = (input.backend === 'webgpu' ? 16 : 4) * P;
  const pts = new Float64Array((K + 1) * P);
  pts.set(input.z0, 0);
  for (let k = 1; k <= K; k++) {
    const u = Float64Array.from({ length: P }, (_, j) => 0.02 + 0.96 * halton(k, PRIMES[j % PRIMES.length]));
    pts.set(input.cube.toZ(u), k * P);
  }
  const f = await input.probe(pts);
  const f0 = f[0];
  const best = Math.min(...f.slice(1).filter(Number.isFinite));
  const startName = input.startKind === 'default' ? 'the model\'s default start' : 'the given start';
  if (!Number.isFinite(f0)) {
    return { name: 'global+lm', reason: `${startName} cannot be priced; global stage first (${P} parameters, ${input.quotes} quotes, ${input.backend})`, startObjective: f0 };
  }
  if (Number.isFinite(best) && f0 > PROBE_RATIO * best) {
    return {
      name: 'global+lm',
      reason: `${startName} is poor: objective ${f0.toExponential(3)} > ${PROBE_RATIO}x the best of ${K} probe points (${best.toExponential(3)}); global stage then LM (${P} parameters, ${input.quotes} quotes, ${input.backend})`,
      startObjective: f0,
    };
  }
  return {
    name: 'lm',
    reason: `${startName} is within ${PROBE_RATIO}x of the best of ${K} probe points (${f0.toExponential(3)} vs ${Number.isFinite(best) ? best.toExponential(3) : 'none finite'}): LM alone`,
    startObjective: f0,
  };
}

/** Names of parameters sitting (within PINNED of the range) on a finite bound. */
export function pinnedParams(model: Model, p: Float64Array, bounds: Bounds): string[] {
  const pos = boundPosition(p, bounds);
  return model.params.filter((_, i) => Number.isFinite(pos[i]) && (pos[i] < PINNED || pos[i] > 1 - PINNED)).map((s) => s.name);
}
