/**
 * WebGPU driver of the Monte Carlo kernels: uploads the f64 scheme tables as f32, simulates the
 * units in chunks (the per-path buffer stays under PATH_BYTES), reduces payoffs on the GPU into
 * f32 partial sums over blocks of BLOCK units, and accumulates the blocks in f64 on the CPU.
 * Buffers persist between calls (GrowableBuffer); pipelines are compiled once per device.
 */
import type { GpuContext } from '../../backends/webgpu/device.js';
import { dispatchKernel, getKernel, GrowableBuffer, readBuffer, WORKGROUP_SIZE, workgroupGrid } from '../../backends/webgpu/kernel.js';
import type { McPlan } from './plan.js';
import { SUMS } from './estimate.js';
import {
  HestonStepRecord,
  MC_HESTON_SHADER,
  MC_RBERGOMI_SHADER,
  MC_REDUCE_SHADER,
  McPathPointRecord,
  McPathsHeaderRecord,
  McPointRecord,
  McQuoteRecord,
  McReduceHeaderRecord,
  RBergomiSetRecord,
} from './gpuLayout.js';
import { RB_HEADER, type SchemeTables } from './tables.js';

/** Units summed in f32 by one reduce invocation. */
export const BLOCK = 256;
/** Ceiling of the per-chunk path buffer. */
const PATH_BYTES = 64 * 1024 * 1024;

export class McGpu {
  private readonly hdr: GrowableBuffer;
  private readonly table: GrowableBuffer;
  /** rBergomi only: the per-set weights after each table row's header. */
  private readonly weights: GrowableBuffer;
  private readonly rec: GrowableBuffer;
  private readonly paths: GrowableBuffer;
  private readonly quotes: GrowableBuffer;
  private readonly redHdr: GrowableBuffer;
  private readonly sums: GrowableBuffer;
  private peak = 0;

  constructor(private readonly ctx: GpuContext) {
    this.hdr = new GrowableBuffer(ctx, 'mc-hdr');
    this.table = new GrowableBuffer(ctx, 'mc-table');
    this.weights = new GrowableBuffer(ctx, 'mc-weights');
    this.rec = new GrowableBuffer(ctx, 'mc-rec');
    this.paths = new GrowableBuffer(ctx, 'mc-paths');
    this.quotes = new GrowableBuffer(ctx, 'mc-quotes');
    this.redHdr = new GrowableBuffer(ctx, 'mc-red-hdr');
    this.sums = new GrowableBuffer(ctx, 'mc-sums');
  }

  private uploadStatic(plan: McPlan, tables: SchemeTables): void {
    const points = Array.from(plan.recStep, (step, i) => ({ step, expiry: plan.recExpiry[i], frac: plan.recFrac[i] }));
    this.rec.write(McPointRecord.pack(points));
    if (plan.kind === 'rbergomi') {
      // Each f64 row is [header, weights]: the headers go up as RBergomiSet records, the weights
      // as one f32 array (2 (steps + 1) per set).
      const S = tables.stride;
      const n = tables.table.length / S;
      const W = S - RB_HEADER;
      const head = new Float64Array(n * RB_HEADER);
      const weights = new Float32Array(n * W);
      for (let p = 0; p < n; p++) {
        head.set(tables.table.subarray(p * S, p * S + RB_HEADER), p * RB_HEADER);
        weights.set(tables.table.subarray(p * S + RB_HEADER, (p + 1) * S), p * W);
      }
      this.table.write(RBergomiSetRecord.packFlat(head, n));
      this.weights.write(weights);
    } else {
      this.table.write(HestonStepRecord.packFlat(tables.table));
    }
  }

  private async simulateChunk(plan: McPlan, n: number, first: number, count: number): Promise<void> {
    const nExp = plan.expiries.length;
    const hdr = this.hdr.write(
      McPathsHeaderRecord.packOne({
        count,
        first,
        steps: plan.nSteps,
        expiries: nExp,
        sets: n,
        key: plan.key,
        pathsPerUnit: plan.antithetic ? 2 : 1,
        points: plan.recStep.length,
      }),
    );
    const out = this.paths.ensure(McPathPointRecord.bytes(n * count * nExp));
    this.peak = Math.max(this.peak, this.bytes());
    const grid = workgroupGrid(this.ctx, n * count, WORKGROUP_SIZE);
    const [tb, rec] = [this.table.buffer!, this.rec.buffer!];
    if (plan.kind === 'rbergomi') {
      const kernel = await getKernel(this.ctx, MC_RBERGOMI_SHADER, 'main');
      dispatchKernel(this.ctx, kernel, { hdr, sets: tb, weights: this.weights.buffer!, rec, outp: out }, grid);
    } else {
      const kernel = await getKernel(this.ctx, MC_HESTON_SHADER, 'main');
      dispatchKernel(this.ctx, kernel, { hdr, tb, rec, outp: out }, grid);
    }
  }

  /** Per-path log-prices of units [first, first + count) (for the twin tests), layout of simulateCpu. */
  async simulate(plan: McPlan, tables: SchemeTables, n: number, first: number, count: number): Promise<Float32Array> {
    this.uploadStatic(plan, tables);
    await this.simulateChunk(plan, n, first, count);
    const bytes = McPathPointRecord.bytes(n * count * plan.expiries.length);
    return new Float32Array(await readBuffer(this.ctx, this.paths.buffer!, bytes));
  }

  /** N x M x 5 moment sums over all plan.units units, accumulated in f64. */
  async moments(plan: McPlan, tables: SchemeTables, n: number): Promise<Float64Array> {
    const nExp = plan.expiries.length;
    const M = plan.kRel.length;
    this.uploadStatic(plan, tables);
    this.quotes.write(McQuoteRecord.pack(Array.from(plan.kRel, (k, m) => ({ expiry: plan.quoteExpiry[m], k, isCall: plan.isCall[m] }))));
    const maxBytes = Math.min(PATH_BYTES, this.ctx.limits.maxStorageBufferBindingSize);
    const perUnit = McPathPointRecord.bytes(n * nExp);
    const chunk = Math.max(BLOCK, Math.floor(maxBytes / perUnit / BLOCK) * BLOCK);
    const total = new Float64Array(n * M * SUMS);
    const reduce = await getKernel(this.ctx, MC_REDUCE_SHADER, 'main');
    for (let first = 0; first < plan.units; first += chunk) {
      const count = Math.min(chunk, plan.units - first);
      await this.simulateChunk(plan, n, first, count);
      const nBlocks = Math.ceil(count / BLOCK);
      const hdr = this.redHdr.write(
        McReduceHeaderRecord.packOne({ count, expiries: nExp, quotes: M, sets: n, block: BLOCK, blocks: nBlocks, pathsPerUnit: plan.antithetic ? 2 : 1 }),
      );
      const sumBytes = n * M * nBlocks * SUMS * 4;
      const sums = this.sums.ensure(sumBytes);
      this.peak = Math.max(this.peak, this.bytes());
      dispatchKernel(this.ctx, reduce, { hdr, quotes: this.quotes.buffer!, paths: this.paths.buffer!, sums }, workgroupGrid(this.ctx, n * M * nBlocks, WORKGROUP_SIZE));
      const part = new Float32Array(await readBuffer(this.ctx, sums, sumBytes));
      for (let pm = 0; pm < n * M; pm++) {
        for (let b = 0; b < nBlocks; b++) {
          const o = (pm * nBlocks + b) * SUMS;
          for (let s = 0; s < SUMS; s++) total[pm * SUMS + s] += part[o + s];
        }
      }
    }
    // An f32 overflow (e^X beyond 3e38 on an extreme path) would poison the sums: fail, so that
    // runOnBackend finishes the work on the f64 CPU twin instead of returning NaN prices.
    const bad = total.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      const pm = Math.floor(bad / SUMS);
      throw new Error(`f32 overflow in the payoff sums (parameter set ${Math.floor(pm / M)}, quote ${pm % M})`);
    }
    return total;
  }

  private bytes(): number {
    return [this.hdr, this.table, this.weights, this.rec, this.paths, this.quotes, this.redHdr, this.sums].reduce((a, b) => a + b.bytes, 0);
  }

  peakBytes(): number {
    return this.peak;
  }

  destroy(): void {
    [this.hdr, this.table, this.weights, this.rec, this.paths, this.quotes, this.redHdr, this.sums].forEach((b) => b.destroy());
  }
}
