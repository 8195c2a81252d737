/**
 * What shaders/black.wgsl reads and writes, declared once: the records gpu.ts packs and reads
 * back, included in the shader as WGSL structs (`//!struct`), and its bindings by name
 * (`//!bindings`). See src/backends/webgpu/README.md.
 */
import { WORKGROUP_SIZE } from '../../backends/webgpu/kernel.js';
import { arrayOf, defineRecord, defineShader } from '../../backends/webgpu/layout.js';

/** Rows in the dispatch and the Newton iteration cap of implied_vol. */
export const BlackParamsRecord = defineRecord('BlackParams', [
  { name: 'n', type: 'u32' },
  { name: 'maxIter', type: 'u32' },
]);

/** price_greeks input: x = -|ln(F/K)| <= 0, s = vol sqrt(T), d1 = ln(F/K)/s + s/2, call flag. */
export const BlackRowRecord = defineRecord('BlackRow', [
  { name: 'x', type: 'f32' },
  { name: 's', type: 'f32' },
  { name: 'd1', type: 'f32' },
  { name: 'isCall', type: 'u32' },
]);

/** price_greeks output: the normalised OTM price b, Phi(theta d1), phi(d1). */
export const BlackGreeksRecord = defineRecord('BlackGreeks', [
  { name: 'otm', type: 'f32' },
  { name: 'cdf', type: 'f32' },
  { name: 'pdf', type: 'f32' },
]);

/** implied_vol input: x <= 0 and ln beta, beta the normalised OTM price. */
export const BlackIvRowRecord = defineRecord('BlackIvRow', [
  { name: 'x', type: 'f32' },
  { name: 'lnBeta', type: 'f32' },
]);

/** implied_vol output: s = vol sqrt(T), the last relative step, iterations used. */
export const BlackIvRecord = defineRecord('BlackIv', [
  { name: 's', type: 'f32' },
  { name: 'rel', type: 'f32' },
  { name: 'iterations', type: 'u32' },
]);

export const BLACK_SHADER = defineShader({
  file: 'black.wgsl',
  bindings: {
    params: { type: BlackParamsRecord, access: 'read' },
    rows: { type: arrayOf(BlackRowRecord), access: 'read' },
    greeks: { type: arrayOf(BlackGreeksRecord), access: 'read_write' },
    ivRows: { type: arrayOf(BlackIvRowRecord), access: 'read' },
    ivs: { type: arrayOf(BlackIvRecord), access: 'read_write' },
  },
  entries: {
    price_greeks: ['params', 'rows', 'greeks'],
    implied_vol: ['params', 'ivRows', 'ivs'],
  },
  overrides: { WG: WORKGROUP_SIZE },
});
