/**
 * WebGPU runner of shaders/svi_grid.wgsl: the quasi-explicit (m, sigma) grid of every slice of a
 * batch (qe.ts SliceBatch, GridSpec) in one dispatch, the f32 twin of `evaluateGridBatch` (same
 * inputs, same GridResult). Per slice the values are scaled to O(1) before the f32 kernel (total
 * variance / aMax, weights / their sum) and scaled back here in f64: V x aMax^2 x sum(weight),
 * (a, d, c) x aMax. A batch larger than one storage binding (the device's
 * maxStorageBufferBindingSize, 128 MiB by default: ~8M cells) runs as several dispatches of whole
 * slices.
 *
 * Precision (test/surface/gpuGrid.test.ts): V is the exact objective of the returned (a, d, c) to
 * f32 rounding, within 1e-5 of the slice's scale sum(weight W^2) of the f64 twin's V; the grid's
 * ranking (its best cells) is the twin's. The fit (sviFit.ts) refines the best cells in f64, so
 * an SVI fit from this grid is the CPU fit's to the f64 polish's tolerance.
 */
import type { GpuContext } from '../backends/webgpu/device.js';
import { deviceBuffers, dispatchKernel, getKernel, readBuffer, WORKGROUP_SIZE, workgroupGrid } from '../backends/webgpu/kernel.js';
import { SVI_GRID_SHADER, SviGridCellRecord, SviGridHeaderRecord, SviGridQuoteRecord, SviGridSliceRecord } from './gpuLayout.js';
import type { SurfaceFitOptions } from './fit.js';
import type { GridResult, GridSpec, SliceBatch } from './qe.js';
import { prepareSlices } from './slices.js';
import { sviGridProblem } from './sviFit.js';
import type { SurfaceQuote } from './types.js';

const buffers = deviceBuffers('svi_grid', ['hdr', 'slices', 'quotes', 'm', 'sigma', 'cells']);

/** Consecutive slice ranges [from, to) whose cells and quotes each fit one storage binding (and `cellLimit`). */
function chunks(ctx: GpuContext, batch: SliceBatch, perSlice: number, cellLimit = Infinity): Array<[number, number]> {
  const maxBytes = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
  const maxCells = Math.min(cellLimit, Math.floor(maxBytes / SviGridCellRecord.size));
  const maxQuotes = Math.floor(maxBytes / SviGridQuoteRecord.size);
  const S = batch.offsets.length - 1;
  const out: Array<[number, number]> = [];
  let from = 0;
  while (from < S) {
    let to = from + 1;
    while (to < S && (to + 1 - from) * perSlice <= maxCells && batch.offsets[to + 1] - batch.offsets[from] <= maxQuotes) to++;
    out.push([from, to]);
    from = to;
  }
  return out;
}

export interface GridGpuOptions {
  /** Most cells per dispatch (default: what one storage binding holds); whole slices per dispatch, at least one. */
  maxCellsPerDispatch?: number;
}

/** evaluateGridBatch on WebGPU (f32 kernel, f64 scaling): same inputs, same result layout. */
export async function evaluateGridBatchGpu(ctx: GpuContext, batch: SliceBatch, grid: GridSpec, out?: GridResult, opts: GridGpuOptions = {}): Promise<GridResult> {
  const S = batch.offsets.length - 1;
  const { nm, ns } = grid;
  if (grid.m.length !== S * nm) throw new RangeError(`grid.m has length ${grid.m.length}, expected ${S} x ${nm}`);
  if (grid.sigma.length !== S * ns) throw new RangeError(`grid.sigma has length ${grid.sigma.length}, expected ${S} x ${ns}`);
  const per = nm * ns;
  const res = out ?? { f: new Float64Array(S * per), adc: new Float64Array(3 * S * per) };
  if (S === 0) return res;
  const L = batch.maxSlope ?? 2;
  // Per-slice scales: aMax (total variance) and the weight sum.
  const scaleW = new Float64Array(S), sumWt = new Float64Array(S);
  for (let s = 0; s < S; s++) {
    let sw = 0;
    for (let q = batch.offsets[s]; q < batch.offsets[s + 1]; q++) sw += batch.weight[q];
    sumWt[s] = sw > 0 ? sw : 1;
    scaleW[s] = batch.aMax[s] > 0 ? batch.aMax[s] : 1;
  }
  const kernel = await getKernel(ctx, SVI_GRID_SHADER, 'grid');
  const b = buffers(ctx);
  for (const [from, to] of chunks(ctx, batch, per, opts.maxCellsPerDispatch)) {
    const q0 = batch.offsets[from], q1 = batch.offsets[to];
    const flat = new Float64Array(3 * (q1 - q0));
    for (let s = from; s < to; s++) {
      for (let q = batch.offsets[s]; q < batch.offsets[s + 1]; q++) {
        const o = 3 * (q - q0);
        flat[o] = batch.k[q];
        flat[o + 1] = batch.w[q] / scaleW[s];
        flat[o + 2] = batch.weight[q] / sumWt[s];
      }
    }
    const sliceRecs = [];
    for (let s = from; s < to; s++) {
      sliceRecs.push({ lo: batch.offsets[s] - q0, hi: batch.offsets[s + 1] - q0, lee: Number.isFinite(L) ? L / scaleW[s] : 0 });
    }
    const cells = (to - from) * per;
    const bytes = SviGridCellRecord.bytes(cells);
    dispatchKernel(
      ctx,
      kernel,
      {
        hdr: b.hdr.write(SviGridHeaderRecord.packOne({ slices: to - from, nm, ns, cells })),
        slices: b.slices.write(SviGridSliceRecord.pack(sliceRecs)),
        quotes: b.quotes.write(SviGridQuoteRecord.packFlat(flat, q1 - q0)),
        gm: b.m.write(Float32Array.from(grid.m.subarray(from * nm, to * nm))),
        gsigma: b.sigma.write(Float32Array.from(grid.sigma.subarray(from * ns, to * ns))),
        cells: b.cells.ensure(bytes),
      },
      workgroupGrid(ctx, (to - from) * nm, WORKGROUP_SIZE),
    );
    const raw = new Float32Array(await readBuffer(ctx, b.cells.buffer!, bytes));
    for (let s = from; s < to; s++) {
      const fs = scaleW[s] * scaleW[s] * sumWt[s];
      for (let c = 0; c < per; c++) {
        const src = 4 * ((s - from) * per + c);
        const dst = s * per + c;
        // f32 overflow (quotes absurdly far from m) ranks a cell last, never as a NaN.
        res.f[dst] = Number.isFinite(raw[src]) ? raw[src] * fs : Infinity;
        res.adc[3 * dst] = raw[src + 1] * scaleW[s];
        res.adc[3 * dst + 1] = raw[src + 2] * scaleW[s];
        res.adc[3 * dst + 2] = raw[src + 3] * scaleW[s];
      }
    }
  }
  return res;
}

/**
 * The grid stage of an SVI surface fit on WebGPU: `fitSurface(quotes, {...opts, svi: {...opts.svi,
 * gridValues}})` then runs the rest (Nelder-Mead, polish, arbitrage) in f64 from these values.
 * Slices are prepared exactly as fitSurface prepares them.
 */
export async function sviGridValuesGpu(ctx: GpuContext, quotes: readonly SurfaceQuote[], opts: SurfaceFitOptions): Promise<GridResult> {
  const { batch, grid } = sviGridProblem(prepareSlices(quotes, opts).slices, { grid: opts.svi?.grid });
  return evaluateGridBatchGpu(ctx, batch, grid);
}
