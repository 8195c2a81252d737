/**
 * Uniforms and normals from one 32-bit Philox word, the f64 twin of the functions in
 * shaders/mc_common.wgsl.
 *
 * A word is read as (half, k): the top bit picks the half of (0,1), the low 31 bits give the
 * tail probability p = (k + 1/2) 2^-32 in (2^-33, 1/2). Then
 *   uniform u = half ? 1 - p : p,   1 - u = half ? p : 1 - p,   z = Phi^-1(u) = half ? q : -q,
 * with q = Phi^-1(1 - p) = sqrt(2) erfinv(1 - 2p) computed from p itself, so both tails keep full
 * relative precision in f32 (no 1 - u cancellation). Antithetic paths flip the top bit, which maps
 * u -> 1 - u and z -> -z exactly.
 *
 * erfinv is M. Giles, "Approximating the erfinv function" (GPU Computing Gems, 2011), the
 * single-precision variant: relative error a few 1e-7 over the whole range, evaluated the same way
 * in f32 on the GPU and in f64 here. Tail: the smallest p is 2^-33, so |z| <= 6.3 (Phi(-6.3) ~
 * 1.5e-10); the tail beyond that is cut, which changes E[payoff] by far less than any MC error.
 */

const TWO_M32 = 2 ** -32;
const SQRT2 = Math.SQRT2;

/** Tail probability p in (2^-33, 1/2] of a 32-bit word. */
export function tailProb(bits: number): number {
  return ((bits & 0x7fffffff) + 0.5) * TWO_M32;
}

/** Giles' single-precision erfinv(1 - 2p), written in terms of p. */
export function erfinvOneMinus2p(p: number): number {
  const x = 1 - 2 * p;
  let w = -Math.log(4 * p * (1 - p));
  let r: number;
  if (w < 5) {
    w -= 2.5;
    r = 2.81022636e-8;
    r = 3.43273939e-7 + r * w;
    r = -3.5233877e-6 + r * w;
    r = -4.39150654e-6 + r * w;
    r = 0.00021858087 + r * w;
    r = -0.00125372503 + r * w;
    r = -0.00417768164 + r * w;
    r = 0.246640727 + r * w;
    r = 1.50140941 + r * w;
  } else {
    w = Math.sqrt(w) - 3;
    r = -0.000200214257;
    r = 0.000100950558 + r * w;
    r = 0.00134934322 + r * w;
    r = -0.00367342844 + r * w;
    r = 0.00573950773 + r * w;
    r = -0.0076224613 + r * w;
    r = 0.00943887047 + r * w;
    r = 1.00167406 + r * w;
    r = 2.83297682 + r * w;
  }
  return r * x;
}

/** Standard normal quantile at tail probability p (upper tail): Phi^-1(1 - p), p <= 1/2. */
export function upperQuantile(p: number): number {
  return SQRT2 * erfinvOneMinus2p(p);
}

/** Standard normal from a 32-bit word. */
export function normalFromBits(bits: number): number {
  const q = upperQuantile(tailProb(bits));
  return bits >>> 31 ? q : -q;
}

/** Uniform in (0,1) from a 32-bit word (the same word's normal is Phi^-1 of it). */
export function uniformFromBits(bits: number): number {
  const p = tailProb(bits);
  return bits >>> 31 ? 1 - p : p;
}

/** 1 - uniformFromBits(bits), without cancellation. */
export function oneMinusUniformFromBits(bits: number): number {
  const p = tailProb(bits);
  return bits >>> 31 ? p : 1 - p;
}

/** Largest |z| the generator can produce: Phi^-1(1 - 2^-33). */
export const MAX_ABS_NORMAL = upperQuantile(0.5 * TWO_M32);
