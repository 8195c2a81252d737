/**
 * What the local-vol kernels (shaders/mc_localvol.wgsl: `main` simulates, `reduce` sums payoff
 * moments) read, declared once (see src/backends/webgpu/README.md). The reduction's header and
 * quote records are the Heston engine's (gpuLayout.ts McQuote), its output the same nine f32 sums
 * per (quote, block) that gpu.ts and estimate.ts consume.
 */
import { WORKGROUP_SIZE } from '../../backends/webgpu/kernel.js';
import { arrayOf, defineRecord, defineShader } from '../../backends/webgpu/layout.js';
import { McPointRecord, McQuoteRecord } from './gpuLayout.js';

/** The sizes of one local-vol path dispatch; `pathsPerUnit` 2 for antithetic pairs, `richardson` 0 or 1. */
export const LvPathsHeaderRecord = defineRecord('LvPathsHeader', [
  { name: 'count', type: 'u32' },
  { name: 'first', type: 'u32' },
  { name: 'steps', type: 'u32' },
  { name: 'expiries', type: 'u32' },
  { name: 'kPoints', type: 'u32' },
  { name: 'pathsPerUnit', type: 'u32' },
  { name: 'key', type: 'vec2<u32>' },
  { name: 'points', type: 'u32' },
  { name: 'richardson', type: 'u32' },
]);

/**
 * One row of the local-variance table (localvolPlan.ts localVolTable), as f32: the row's first k
 * node and inverse spacing, and (fine rows) the Black-Scholes control's drift and volatility.
 */
export const LvStepRecord = defineRecord('LvStep', [
  { name: 'kLo', type: 'f32' },
  { name: 'invDk', type: 'f32' },
  { name: 'cvDrift', type: 'f32' },
  { name: 'cvVol', type: 'f32' },
]);

/** The sizes of one reduction dispatch (one surface): gpuLayout.ts McReduceHeader with the Richardson flag. */
export const LvReduceHeaderRecord = defineRecord('LvReduceHeader', [
  { name: 'count', type: 'u32' },
  { name: 'expiries', type: 'u32' },
  { name: 'quotes', type: 'u32' },
  { name: 'block', type: 'u32' },
  { name: 'blocks', type: 'u32' },
  { name: 'pathsPerUnit', type: 'u32' },
  { name: 'richardson', type: 'u32' },
]);

/** Per (unit, expiry): X on the fine and coarse grids and the control's X, on the path and its mirror. */
export const LvPathPointRecord = defineRecord('LvPathPoint', [
  { name: 'x', type: 'f32' },
  { name: 'xCoarse', type: 'f32' },
  { name: 'xc', type: 'f32' },
  { name: 'xMirror', type: 'f32' },
  { name: 'xCoarseMirror', type: 'f32' },
  { name: 'xcMirror', type: 'f32' },
]);

export const MC_LOCALVOL_SHADER = defineShader({
  file: 'mc_localvol.wgsl',
  bindings: {
    hdr: { type: LvPathsHeaderRecord, access: 'read' },
    steps: { type: arrayOf(LvStepRecord), access: 'read' },
    // rows x kPoints: each row's integrated local variance at its k nodes (fine rows, then coarse).
    variance: { type: 'array<f32>', access: 'read' },
    rec: { type: arrayOf(McPointRecord), access: 'read' },
    outp: { type: arrayOf(LvPathPointRecord), access: 'read_write' },
    redHdr: { type: LvReduceHeaderRecord, access: 'read' },
    quotes: { type: arrayOf(McQuoteRecord), access: 'read' },
    paths: { type: arrayOf(LvPathPointRecord), access: 'read' },
    sums: { type: 'array<f32>', access: 'read_write' },
  },
  entries: { main: ['hdr', 'steps', 'variance', 'rec', 'outp'], reduce: ['redHdr', 'quotes', 'paths', 'sums'] },
  overrides: { WG: WORKGROUP_SIZE },
});
