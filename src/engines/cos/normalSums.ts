/**
 * The f64 CPU twin of the GPU-resident LM reduction (shaders/lm_normal.wgsl via gpuNormal.ts):
 * f = sum r_i^2, g = J^T r and A = J^T J of a finite-difference stencil, from f64 COS prices,
 * with the same residual definition r_i = scale_i (price_i / (D_i F_i) - target_i) and the same
 * difference quotients. It is the oracle of the kernel's tests and the fallback when the GPU fails.
 */
import type { Model } from '../../models/types.js';
import type { NormalSums, QuoteSet, ResidualDefinition, StencilBatch } from '../pricer.js';
import { cosPricesBatch } from './cpu.js';
import type { ExpiryGroups } from './expiries.js';
import type { CosOptions } from './plan.js';

/** Directions of a stencil, checked against its set count. */
export function stencilDirections(batch: StencilBatch): number {
  const D = batch.step.length;
  const need = D === 0 ? 1 : batch.scheme === 'central' ? 2 * D + 1 : D + 1;
  if (batch.n !== need) throw new RangeError(`stencil of ${D} ${batch.scheme} direction(s) needs ${need} sets, got ${batch.n}`);
  return D;
}

/** 1 / (difference quotient's denominator) per direction: 1/(2h) central, 1/h forward. */
export function inverseSteps(batch: StencilBatch): Float64Array {
  return Float64Array.from(batch.step, (h) => (batch.scheme === 'central' ? 0.5 / h : 1 / h));
}

/** Prices of every set; a set the engine rejects (e.g. non-finite cumulants) gets NaN prices. */
function pricesBySet(model: Model, batch: StencilBatch, quotes: QuoteSet, options: CosOptions | undefined, groups: ExpiryGroups): Float64Array {
  try {
    return cosPricesBatch(model, batch.params, batch.n, quotes, options, groups);
  } catch {
    const P = model.params.length;
    const M = quotes.T.length;
    const out = new Float64Array(batch.n * M);
    for (let s = 0; s < batch.n; s++) {
      try {
        out.set(cosPricesBatch(model, batch.params.subarray(s * P, (s + 1) * P), 1, quotes, options, groups), s * M);
      } catch {
        out.fill(NaN, s * M, (s + 1) * M);
      }
    }
    return out;
  }
}

export function cosNormalSumsCpu(
  model: Model,
  quotes: QuoteSet,
  def: ResidualDefinition,
  batch: StencilBatch,
  options: CosOptions | undefined,
  groups: ExpiryGroups,
): Omit<NormalSums, 'backend'> {
  const D = stencilDirections(batch);
  const M = quotes.T.length;
  const prices = pricesBySet(model, batch, quotes, options, groups);
  const v = (s: number, i: number) => prices[s * M + i] / (quotes.discount[i] * quotes.forward[i]);
  let f = 0;
  for (let i = 0; i < M; i++) {
    const r = def.scale[i] * (v(0, i) - def.target[i]);
    f += r * r;
  }
  if (!Number.isFinite(f)) return { f: Infinity, g: null, A: null };
  if (D === 0) return { f, g: null, A: null };
  for (let k = M; k < batch.n * M; k++) if (!Number.isFinite(prices[k])) return { f, g: null, A: null };
  const inv = inverseSteps(batch);
  const central = batch.scheme === 'central';
  const g = new Float64Array(D);
  const A = new Float64Array(D * D);
  const J = new Float64Array(D);
  for (let i = 0; i < M; i++) {
    const c = def.scale[i];
    const r = c * (v(0, i) - def.target[i]);
    for (let j = 0; j < D; j++) J[j] = c * (v(1 + j, i) - v(central ? 1 + D + j : 0, i)) * inv[j];
    for (let a = 0; a < D; a++) {
      g[a] += J[a] * r;
      for (let b = a; b < D; b++) A[a * D + b] += J[a] * J[b];
    }
  }
  for (let a = 0; a < D; a++) for (let b = 0; b < a; b++) A[a * D + b] = A[b * D + a];
  return { f, g, A };
}
