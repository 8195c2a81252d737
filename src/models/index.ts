/** Model registry: the CLI and the calibrator look models up by name. */
import { bates } from './bates.js';
import { heston } from './heston.js';
import { merton } from './merton.js';
import { rbergomi } from './rbergomi.js';
import type { Model } from './types.js';

export const models: Readonly<Record<string, Model>> = { heston, bates, merton, rbergomi };

export function modelNames(): string[] {
  return Object.keys(models);
}

/** The model called `name` (case-insensitive); a RangeError lists the known names otherwise. */
export function getModel(name: string): Model {
  const m = models[name.toLowerCase()];
  if (!m) throw new RangeError(`unknown model '${name}'; known models: ${modelNames().join(', ')}`);
  return m;
}

export { heston, bates, merton, rbergomi };
export type { Model, ParamSpec, Constraint, Cumulants } from './types.js';
export { paramVector, paramRecord } from './types.js';
