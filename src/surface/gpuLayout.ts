/**
 * What shaders/svi_grid.wgsl reads and writes, declared once (src/backends/webgpu/README.md): the
 * quasi-explicit SVI grid of many slices in one dispatch, the f32 twin of qe.ts
 * `evaluateGridBatch`. Values travel in per-slice scaled units (gpuGrid.ts): total variance over
 * the slice's largest market total variance (aMax), weights over the slice's weight sum, so the
 * f32 sums are O(1) whatever the expiry.
 */
import { WORKGROUP_SIZE } from '../backends/webgpu/kernel.js';
import { arrayOf, defineRecord, defineShader } from '../backends/webgpu/layout.js';

/** The dispatch: slices, grid points per slice in m and sigma, cells = slices x nm x ns. */
export const SviGridHeaderRecord = defineRecord('SviGridHeader', [
  { name: 'slices', type: 'u32' },
  { name: 'nm', type: 'u32' },
  { name: 'ns', type: 'u32' },
  { name: 'cells', type: 'u32' },
]);

/**
 * A slice: its quotes lo .. hi-1 of `quotes`; Lee's bound L / aMax on c + |d| per unit sigma in
 * scaled units (0: no Lee constraint). The level bound a <= aMax is 1 in scaled units.
 */
export const SviGridSliceRecord = defineRecord('SviGridSlice', [
  { name: 'lo', type: 'u32' },
  { name: 'hi', type: 'u32' },
  { name: 'lee', type: 'f32' },
]);

/** A quote: k = ln(K/F), its market total variance / aMax, its weight / the slice's weight sum. */
export const SviGridQuoteRecord = defineRecord('SviGridQuote', [
  { name: 'k', type: 'f32' },
  { name: 'w', type: 'f32' },
  { name: 'weight', type: 'f32' },
]);

/** A cell's reduced objective V(m, sigma) and its (a, d, c), scaled. */
export const SviGridCellRecord = defineRecord('SviGridCell', [
  { name: 'f', type: 'f32' },
  { name: 'a', type: 'f32' },
  { name: 'd', type: 'f32' },
  { name: 'c', type: 'f32' },
]);

export const SVI_GRID_SHADER = defineShader({
  file: 'svi_grid.wgsl',
  bindings: {
    hdr: { type: SviGridHeaderRecord, access: 'read' },
    slices: { type: arrayOf(SviGridSliceRecord), access: 'read' },
    quotes: { type: arrayOf(SviGridQuoteRecord), access: 'read' },
    // m[s * nm + i], sigma[s * ns + j] (qe.ts GridSpec).
    gm: { type: 'array<f32>', access: 'read' },
    gsigma: { type: 'array<f32>', access: 'read' },
    cells: { type: arrayOf(SviGridCellRecord), access: 'read_write' },
  },
  entries: { grid: ['hdr', 'slices', 'quotes', 'gm', 'gsigma', 'cells'] },
  overrides: { WG: WORKGROUP_SIZE },
});
