/**
 * Fresh random inputs for twin tests, reproducible on demand: the seed is new every run unless
 * VOLFIT_TEST_SEED is set, and it is printed so a failure can be replayed.
 */
import { mulberry32 } from '../../src/util/mulberry32.js';

export const testSeed = Number(process.env.VOLFIT_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.info(`[volfit tests] random seed ${testSeed} (replay with VOLFIT_TEST_SEED=${testSeed})`);

/** A seeded uniform generator on [0, 1); the default seed is this run's test seed. */
export function rng(seed: number = testSeed): () => number {
  return mulberry32(seed);
}

export function uniform(r: () => number, lo: number, hi: number): number {
  return lo + (hi - lo) * r();
}
