/**
 * What the Monte Carlo kernels (shaders/mc_heston.wgsl, mc_rbergomi.wgsl, mc_reduce.wgsl) read,
 * declared once: the records gpu.ts packs and the shaders include as WGSL structs (`//!struct`),
 * each shader's bindings by name (`//!bindings`) and its limits. See src/backends/webgpu/README.md.
 */
import { WORKGROUP_SIZE } from '../../backends/webgpu/kernel.js';
import { arrayOf, defineRecord, defineShader } from '../../backends/webgpu/layout.js';
import { RBERGOMI_MAX_STEPS } from './plan.js';
import { HESTON_STEP_FIELDS, MAX_JUMPS_PER_STEP, RB_HEADER_FIELDS } from './tables.js';

/** The sizes of one path-simulation dispatch; `pathsPerUnit` is 2 for antithetic pairs, else 1. */
export const McPathsHeaderRecord = defineRecord('McPathsHeader', [
  { name: 'count', type: 'u32' },
  { name: 'first', type: 'u32' },
  { name: 'steps', type: 'u32' },
  { name: 'expiries', type: 'u32' },
  { name: 'sets', type: 'u32' },
  { name: 'key', type: 'vec2<u32>' },
  { name: 'pathsPerUnit', type: 'u32' },
  { name: 'points', type: 'u32' },
]);

/**
 * A recorded point (plan.ts recStep/recExpiry/recFrac): after step `step` has started, expiry
 * `expiry` sits at fraction `frac` of that step (1 for Heston/Bates).
 */
export const McPointRecord = defineRecord('McPoint', [
  { name: 'step', type: 'u32' },
  { name: 'expiry', type: 'u32' },
  { name: 'frac', type: 'f32' },
]);

/** Heston/Bates scheme coefficients per (parameter set, step): tables.ts hestonTables, as f32. */
export const HestonStepRecord = defineRecord(
  'HestonStep',
  HESTON_STEP_FIELDS.map((name) => ({ name, type: 'f32' as const })),
);

/** rBergomi per parameter set: the header of tables.ts rbergomiTables' row, as f32. */
export const RBergomiSetRecord = defineRecord(
  'RBergomiSet',
  RB_HEADER_FIELDS.map((name) => ({ name, type: 'f32' as const })),
);

/** Per (set, unit, expiry): ln(S/F) and the control's on the path and on its antithetic mirror. */
export const McPathPointRecord = defineRecord('McPathPoint', [
  { name: 'x', type: 'f32' },
  { name: 'xc', type: 'f32' },
  { name: 'xMirror', type: 'f32' },
  { name: 'xcMirror', type: 'f32' },
]);

/** A quote of the payoff reduction: expiry index, strike over forward, call flag. */
export const McQuoteRecord = defineRecord('McQuote', [
  { name: 'expiry', type: 'u32' },
  { name: 'k', type: 'f32' },
  { name: 'isCall', type: 'u32' },
]);

/** The sizes of one reduction dispatch: units, expiries, quotes, sets, units per block, blocks. */
export const McReduceHeaderRecord = defineRecord('McReduceHeader', [
  { name: 'count', type: 'u32' },
  { name: 'expiries', type: 'u32' },
  { name: 'quotes', type: 'u32' },
  { name: 'sets', type: 'u32' },
  { name: 'block', type: 'u32' },
  { name: 'blocks', type: 'u32' },
  { name: 'pathsPerUnit', type: 'u32' },
]);

export const MC_HESTON_SHADER = defineShader({
  file: 'mc_heston.wgsl',
  bindings: {
    hdr: { type: McPathsHeaderRecord, access: 'read' },
    tb: { type: arrayOf(HestonStepRecord), access: 'read' },
    rec: { type: arrayOf(McPointRecord), access: 'read' },
    outp: { type: arrayOf(McPathPointRecord), access: 'read_write' },
  },
  entries: { main: ['hdr', 'tb', 'rec', 'outp'] },
  overrides: { WG: WORKGROUP_SIZE, MAX_JUMPS: MAX_JUMPS_PER_STEP },
});

export const MC_RBERGOMI_SHADER = defineShader({
  file: 'mc_rbergomi.wgsl',
  bindings: {
    hdr: { type: McPathsHeaderRecord, access: 'read' },
    sets: { type: arrayOf(RBergomiSetRecord), access: 'read' },
    // Per set, 2 (steps + 1) floats: the convolution weights G[k], then eta^2 t_i^{2a+1} / 2.
    weights: { type: 'array<f32>', access: 'read' },
    rec: { type: arrayOf(McPointRecord), access: 'read' },
    outp: { type: arrayOf(McPathPointRecord), access: 'read_write' },
  },
  entries: { main: ['hdr', 'sets', 'weights', 'rec', 'outp'] },
  overrides: { WG: WORKGROUP_SIZE },
  // The per-thread history of Brownian increments: WGSL sizes it at compile time.
  consts: { MAX_STEPS: RBERGOMI_MAX_STEPS },
});

export const MC_REDUCE_SHADER = defineShader({
  file: 'mc_reduce.wgsl',
  bindings: {
    hdr: { type: McReduceHeaderRecord, access: 'read' },
    quotes: { type: arrayOf(McQuoteRecord), access: 'read' },
    paths: { type: arrayOf(McPathPointRecord), access: 'read' },
    sums: { type: 'array<f32>', access: 'read_write' },
  },
  entries: { main: ['hdr', 'quotes', 'paths', 'sums'] },
  overrides: { WG: WORKGROUP_SIZE },
});
