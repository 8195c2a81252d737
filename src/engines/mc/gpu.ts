/**
 * WebGPU driver of the Monte Carlo kernels: uploads the f64 scheme tables as f32, simulates the
 * units in chunks (the per-path buffer stays under PATH_BYTES), reduces payoffs on the GPU into
 * f32 partial sums over blocks of BLOCK units, and accumulates the blocks in f64 on the CPU.
 * Buffers persist between calls (GrowableBuffer); pipelines are compiled once per device.
 */
import type { GpuContext } from '../../backends/webgpu/device.js';
import { dispatch, getPipeline, GrowableBuffer, readBuffer, workgroupGrid } from '../../backends/webgpu/kernel.js';
import type { McPlan } from './plan.js';
import { SUMS } from './estimate.js';
import type { SchemeTables } from './tables.js';

/** Units summed in f32 by one reduce invocation. */
export const BLOCK = 256;
/** Ceiling of the per-chunk path buffer. */
const PATH_BYTES = 64 * 1024 * 1024;

export class McGpu {
  private readonly hdr: GrowableBuffer;
  private readonly table: GrowableBuffer;
  private readonly rec: GrowableBuffer;
  private readonly paths: GrowableBuffer;
  private readonly quotes: GrowableBuffer;
  private readonly redHdr: GrowableBuffer;
  private readonly sums: GrowableBuffer;
  private peak = 0;

  constructor(private readonly ctx: GpuContext) {
    this.hdr = new GrowableBuffer(ctx, 'mc-hdr');
    this.table = new GrowableBuffer(ctx, 'mc-table');
    this.rec = new GrowableBuffer(ctx, 'mc-rec');
    this.paths = new GrowableBuffer(ctx, 'mc-paths');
    this.quotes = new GrowableBuffer(ctx, 'mc-quotes');
    this.redHdr = new GrowableBuffer(ctx, 'mc-red-hdr');
    this.sums = new GrowableBuffer(ctx, 'mc-sums');
  }

  private shader(plan: McPlan): string {
    return plan.kind === 'rbergomi' ? 'mc_rbergomi.wgsl' : 'mc_heston.wgsl';
  }

  private uploadStatic(plan: McPlan, tables: SchemeTables): void {
    this.table.write(Float32Array.from(tables.table));
    if (plan.kind === 'rbergomi') {
      const r = new Uint32Array(4 * plan.recStep.length);
      const f = new Float32Array(r.buffer);
      plan.recStep.forEach((s, i) => {
        r[4 * i] = s;
        r[4 * i + 1] = plan.recExpiry[i];
        f[4 * i + 2] = plan.recFrac[i];
      });
      this.rec.write(r);
    } else {
      const r = new Uint32Array(2 * plan.recStep.length);
      plan.recStep.forEach((s, i) => {
        r[2 * i] = s;
        r[2 * i + 1] = plan.recExpiry[i];
      });
      this.rec.write(r);
    }
  }

  private async simulateChunk(plan: McPlan, n: number, first: number, count: number): Promise<void> {
    const nExp = plan.expiries.length;
    this.hdr.write(
      Uint32Array.from([count, first, plan.nSteps, nExp, n, plan.key[0], plan.key[1], plan.antithetic ? 2 : 1, plan.recStep.length, 0, 0, 0]),
    );
    const pipeline = await getPipeline(this.ctx, this.shader(plan), 'main');
    const out = this.paths.ensure(n * count * nExp * 16);
    this.peak = Math.max(this.peak, this.bytes());
    dispatch(this.ctx, pipeline, [this.hdr.buffer!, this.table.buffer!, this.rec.buffer!, out], workgroupGrid(this.ctx, n * count, 64));
  }

  /** Per-path log-prices of units [first, first + count) (for the twin tests), layout of simulateCpu. */
  async simulate(plan: McPlan, tables: SchemeTables, n: number, first: number, count: number): Promise<Float32Array> {
    this.uploadStatic(plan, tables);
    await this.simulateChunk(plan, n, first, count);
    const bytes = n * count * plan.expiries.length * 16;
    return new Float32Array(await readBuffer(this.ctx, this.paths.buffer!, bytes));
  }

  /** N x M x 5 moment sums over all plan.units units, accumulated in f64. */
  async moments(plan: McPlan, tables: SchemeTables, n: number): Promise<Float64Array> {
    const nExp = plan.expiries.length;
    const M = plan.kRel.length;
    this.uploadStatic(plan, tables);
    const q = new Uint32Array(4 * M);
    const qf = new Float32Array(q.buffer);
    for (let m = 0; m < M; m++) {
      q[4 * m] = plan.quoteExpiry[m];
      qf[4 * m + 1] = plan.kRel[m];
      q[4 * m + 2] = plan.isCall[m];
    }
    this.quotes.write(q);
    const maxBytes = Math.min(PATH_BYTES, this.ctx.limits.maxStorageBufferBindingSize);
    const perUnit = n * nExp * 16;
    const chunk = Math.max(BLOCK, Math.floor(maxBytes / perUnit / BLOCK) * BLOCK);
    const total = new Float64Array(n * M * SUMS);
    const reduce = await getPipeline(this.ctx, 'mc_reduce.wgsl', 'main');
    for (let first = 0; first < plan.units; first += chunk) {
      const count = Math.min(chunk, plan.units - first);
      await this.simulateChunk(plan, n, first, count);
      const nBlocks = Math.ceil(count / BLOCK);
      this.redHdr.write(Uint32Array.from([count, nExp, M, n, BLOCK, nBlocks, plan.antithetic ? 2 : 1, 0]));
      const sumBytes = n * M * nBlocks * SUMS * 4;
      const sums = this.sums.ensure(sumBytes);
      this.peak = Math.max(this.peak, this.bytes());
      dispatch(this.ctx, reduce, [this.redHdr.buffer!, this.quotes.buffer!, this.paths.buffer!, sums], workgroupGrid(this.ctx, n * M * nBlocks, 64));
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
    return [this.hdr, this.table, this.rec, this.paths, this.quotes, this.redHdr, this.sums].reduce((a, b) => a + b.bytes, 0);
  }

  peakBytes(): number {
    return this.peak;
  }

  destroy(): void {
    [this.hdr, this.table, this.rec, this.paths, this.quotes, this.redHdr, this.sums].forEach((b) => b.destroy());
  }
}
