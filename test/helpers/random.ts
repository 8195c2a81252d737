/**
 * Fresh random inputs for twin tests, reproducible on demand: the seed is new every run unless
 * VOLFIT_TEST_SEED is set, and it is printed so a failure can be replayed.
 */
export const testSeed = Number(process.env.VOLFIT_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.info(`[volfit tests] random seed ${testSeed} (replay with VOLFIT_TEST_SEED=${testSeed})`);

/** mulberry32: small, fast and good enough to draw test cases. */
export function rng(seed: number = testSeed): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function uniform(r: () => number, lo: number, hi: number): number {
  return lo + (hi - lo) * r();
}
