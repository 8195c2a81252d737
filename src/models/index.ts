/**
 * Model registry: the CLI and the calibrator look models up by name. Process models (a
 * characteristic function or paths) and slice models (one parameter set per expiry, ./slice.ts)
 * alike; which engine prices or fits each is src/engines/registry.ts's business.
 */
import { bates } from './bates.js';
import { heston } from './heston.js';
import { merton } from './merton.js';
import { rbergomi } from './rbergomi.js';
import { blackFlatModel, essviModel, sliceModels, ssviModel, sviModel } from './slice.js';
import { isSliceModel, type Model } from './types.js';

export const models: Readonly<Record<string, Model>> = { heston, bates, merton, rbergomi, ...sliceModels };

export function modelNames(): string[] {
  return Object.keys(models);
}

/** Names of the process models (heston, bates, merton, rbergomi). */
export function processModelNames(): string[] {
  return Object.keys(models).filter((n) => !isSliceModel(models[n]));
}

/** Names of the slice models (black, svi, ssvi, essvi). */
export function sliceModelNames(): string[] {
  return Object.keys(models).filter((n) => isSliceModel(models[n]));
}

/** The model called `name` (case-insensitive); a RangeError lists the known names otherwise. */
export function getModel(name: string): Model {
  const key = name.toLowerCase();
  const m = Object.hasOwn(models, key) ? models[key] : undefined;
  if (!m) throw new RangeError(`unknown model '${name}'; known models: ${modelNames().join(', ')}`);
  return m;
}

export { heston, bates, merton, rbergomi, blackFlatModel, sviModel, ssviModel, essviModel, sliceModels };
export type { Model, ParamSpec, Constraint, Cumulants, SliceModel, SliceSpec, ModelKind, ModelKernels, McScheme } from './types.js';
export { paramVector, paramRecord, isSliceModel } from './types.js';
