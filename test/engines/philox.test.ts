import { describe, expect, it } from 'vitest';
import { gpu, hasGpu } from '../helpers/gpu.js';
import { rng } from '../helpers/random.js';
import { philox4x32_10, mulhi32 } from '../../src/engines/mc/philox.js';
import {
  MAX_ABS_NORMAL,
  normalFromBits,
  oneMinusUniformFromBits,
  uniformFromBits,
  upperQuantile,
} from '../../src/engines/mc/normals.js';
import { dispatch, getPipeline, GrowableBuffer, readBuffer, workgroupGrid } from '../../src/backends/webgpu/kernel.js';

// Random123 kat_vectors (philox4x32 10: counter[4] key[2] -> output[4]).
const KAT: Array<[number[], number[], number[]]> = [
  [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
  [
    [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
    [0xffffffff, 0xffffffff],
    [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
  ],
  [
    [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
    [0xa4093822, 0x299f31d0],
    [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
  ],
];

describe('Philox4x32-10 (TypeScript)', () => {
  it('reproduces the Random123 known-answer vectors', () => {
    for (const [c, k, want] of KAT) {
      expect([...philox4x32_10(c[0], c[1], c[2], c[3], k[0], k[1])]).toEqual(want);
    }
  });

  it('multiply-high matches BigInt on random operands', () => {
    const r = rng();
    for (let i = 0; i < 2000; i++) {
      const a = Math.floor(r() * 2 ** 32);
      const b = Math.floor(r() * 2 ** 32);
      expect(mulhi32(a, b)).toBe(Number((BigInt(a) * BigInt(b)) >> 32n));
    }
  });
});

describe('normals from Philox words', () => {
  it('match published standard normal quantiles', () => {
    // Phi^-1(0.975), Phi^-1(0.999), Phi^-1(1 - 1e-6) (Abramowitz-Stegun / any table). Giles' f32
    // erfinv has relative error ~1e-7 down to p ~ 3e-8; 2e-7 leaves room for that.
    expect(upperQuantile(0.025)).toBeCloseTo(1.959963984540054, 6);
    expect(Math.abs(upperQuantile(0.001) / 3.090232306167814 - 1)).toBeLessThan(2e-7);
    expect(Math.abs(upperQuantile(1e-6) / 4.753424308822899 - 1)).toBeLessThan(2e-7);
    // Tail cut: the largest |z| the generator can reach, Phi^-1(1 - 2^-33) = 6.34 (extrapolated fit: 4e-4 rel).
    expect(MAX_ABS_NORMAL).toBeGreaterThan(6.3);
    expect(MAX_ABS_NORMAL).toBeLessThan(6.4);
  });

  it('antithetic flip maps z -> -z and u -> 1 - u exactly', () => {
    const r = rng();
    for (let i = 0; i < 1000; i++) {
      const b = Math.floor(r() * 2 ** 32);
      const f = (b ^ 0x80000000) >>> 0;
      expect(normalFromBits(f)).toBe(-normalFromBits(b));
      expect(uniformFromBits(f)).toBe(oneMinusUniformFromBits(b));
    }
  });

  it('have the moments and the tail frequencies of N(0,1)', () => {
    const r = rng();
    const n = 200_000;
    const base = Math.floor(r() * 2 ** 31);
    const out = new Uint32Array(4);
    let s1 = 0, s2 = 0, s4 = 0, tail = 0;
    for (let i = 0; i < n / 4; i++) {
      philox4x32_10(i, base, 7, 0, 1234, 5678, out);
      for (const w of out) {
        const z = normalFromBits(w);
        s1 += z; s2 += z * z; s4 += z ** 4;
        if (z > 1.959963984540054) tail++;
      }
    }
    // Sampling errors: mean sd 1/sqrt(n) = 0.0022, variance sd sqrt(2/n) = 0.0032, fourth moment
    // sd sqrt(96/n) = 0.022, tail count sd sqrt(n .025 .975) = 70: five standard deviations each.
    expect(Math.abs(s1 / n)).toBeLessThan(0.011);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.016);
    expect(Math.abs(s4 / n - 3)).toBeLessThan(0.11);
    expect(Math.abs(tail - 0.025 * n)).toBeLessThan(350);
  });
});

describe.skipIf(!hasGpu)('Philox4x32-10 and normals on WebGPU', () => {
  it('is bit-identical to the TypeScript twin on many counters and keys, normals to f32 accuracy', async () => {
    const ctx = gpu!;
    const r = rng();
    const n = 8192;
    const ctr = new Uint32Array(4 * n);
    const key = new Uint32Array(2 * n);
    for (let i = 0; i < n; i++) {
      // Mix structured counters (as the engine uses them) with fully random ones and the KAT inputs.
      const structured = i % 2 === 0;
      for (let j = 0; j < 4; j++) ctr[4 * i + j] = structured ? (j === 0 ? i : j === 1 ? i % 300 : 0) : Math.floor(r() * 2 ** 32);
      for (let j = 0; j < 2; j++) key[2 * i + j] = Math.floor(r() * 2 ** 32);
    }
    KAT.forEach(([c, k], i) => {
      ctr.set(c, 4 * i);
      key.set(k, 2 * i);
    });
    const pipeline = await getPipeline(ctx, 'mc_rng_test.wgsl', 'main');
    const bufs = [0, 1, 2, 3].map((i) => new GrowableBuffer(ctx, `rng${i}`));
    dispatch(ctx, pipeline, [bufs[0].write(ctr), bufs[1].write(key), bufs[2].ensure(16 * n), bufs[3].ensure(16 * n)], workgroupGrid(ctx, n, 64));
    const words = new Uint32Array(await readBuffer(ctx, bufs[2].buffer!, 16 * n));
    const normals = new Float32Array(await readBuffer(ctx, bufs[3].buffer!, 16 * n));
    bufs.forEach((b) => b.destroy());
    const out = new Uint32Array(4);
    let maxZ = 0, maxU = 0, maxOmu = 0;
    for (let i = 0; i < n; i++) {
      philox4x32_10(ctr[4 * i], ctr[4 * i + 1], ctr[4 * i + 2], ctr[4 * i + 3], key[2 * i], key[2 * i + 1], out);
      for (let j = 0; j < 4; j++) if (words[4 * i + j] !== out[j]) expect([i, j, words[4 * i + j]]).toEqual([i, j, out[j]]);
      // f32 evaluation of the same formulas: ~1e-6 absolute on z (|z| <= 6.3, a few ulp through log,
      // sqrt and a degree-8 polynomial); uniforms are one rounding of (k + 1/2) 2^-32 and 1 - p.
      maxZ = Math.max(maxZ, Math.abs(normals[4 * i] - normalFromBits(out[0])), Math.abs(normals[4 * i + 1] - normalFromBits(out[1])));
      // Uniform: absolute error one f32 rounding (~6e-8); 1 - u: relative error a few ulp.
      maxU = Math.max(maxU, Math.abs(normals[4 * i + 2] - uniformFromBits(out[2])));
      maxOmu = Math.max(maxOmu, Math.abs(normals[4 * i + 3] / oneMinusUniformFromBits(out[3]) - 1));
    }
    expect(maxZ).toBeLessThan(5e-6);
    expect(maxU).toBeLessThan(1e-7);
    expect(maxOmu).toBeLessThan(5e-7);
  });
});
