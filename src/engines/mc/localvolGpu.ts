/**
 * WebGPU driver of the local-vol Monte Carlo: uploads the f64 local-variance table as f32,
 * simulates the units in chunks (shaders/mc_localvol.wgsl; the per-path buffer stays under
 * PATH_BYTES), reduces payoffs on the GPU (the kernel's `reduce` entry: the Heston engine's
 * reduction with the Richardson payoff, f32 sums over blocks of BLOCK units) and accumulates the
 * blocks in f64 on the CPU, as gpu.ts does. Buffers persist between calls; pipelines are compiled
 * once per device.
 */
import type { GpuContext } from '../../backends/webgpu/device.js';
import { dispatchKernel, getKernel, GrowableBuffer, readBuffer, WORKGROUP_SIZE, workgroupGrid } from '../../backends/webgpu/kernel.js';
import { SUMS } from './estimate.js';
import { BLOCK } from './gpu.js';
import { McPointRecord, McQuoteRecord } from './gpuLayout.js';
import { LvPathPointRecord, LvPathsHeaderRecord, LvReduceHeaderRecord, LvStepRecord, MC_LOCALVOL_SHADER } from './localvolLayout.js';
import type { LocalVolPlan, LocalVolTable } from './localvolPlan.js';

const PATH_BYTES = 64 * 1024 * 1024;

export class LocalVolGpu {
  private readonly buffers: Record<'hdr' | 'steps' | 'variance' | 'rec' | 'paths' | 'quotes' | 'redHdr' | 'sums', GrowableBuffer>;
  private peak = 0;

  constructor(private readonly ctx: GpuContext) {
    const b = (label: string) => new GrowableBuffer(ctx, `lv-${label}`);
    this.buffers = {
      hdr: b('hdr'),
      steps: b('steps'),
      variance: b('variance'),
      rec: b('rec'),
      paths: b('paths'),
      quotes: b('quotes'),
      redHdr: b('red-hdr'),
      sums: b('sums'),
    };
  }

  private uploadStatic(plan: LocalVolPlan, tb: LocalVolTable): void {
    const B = this.buffers;
    B.rec.write(McPointRecord.pack(Array.from(plan.recStep, (step, i) => ({ step, expiry: plan.recExpiry[i], frac: plan.recFrac[i] }))));
    // Fine rows carry the control's coefficients; coarse rows (after them) leave them at 0.
    B.steps.write(LvStepRecord.pack(Array.from(tb.kLo, (kLo, i) => ({ kLo, invDk: tb.invDk[i], cvDrift: tb.cvDrift[i] ?? 0, cvVol: tb.cvVol[i] ?? 0 }))));
    B.variance.write(Float32Array.from(tb.variance));
  }

  private async simulateChunk(plan: LocalVolPlan, tb: LocalVolTable, first: number, count: number): Promise<void> {
    const B = this.buffers;
    const nExp = plan.expiries.length;
    const hdr = B.hdr.write(
      LvPathsHeaderRecord.packOne({
        count,
        first,
        steps: plan.nSteps,
        expiries: nExp,
        kPoints: tb.kPoints,
        pathsPerUnit: plan.antithetic ? 2 : 1,
        key: plan.key,
        points: plan.recStep.length,
        richardson: plan.richardson ? 1 : 0,
      }),
    );
    const outp = B.paths.ensure(LvPathPointRecord.bytes(count * nExp));
    this.peak = Math.max(this.peak, this.bytes());
    const kernel = await getKernel(this.ctx, MC_LOCALVOL_SHADER, 'main');
    dispatchKernel(this.ctx, kernel, { hdr, steps: B.steps.buffer!, variance: B.variance.buffer!, rec: B.rec.buffer!, outp }, workgroupGrid(this.ctx, count, WORKGROUP_SIZE));
  }

  /** Path values of units [first, first + count) (twin tests), layout of simulateLocalVolCpu. */
  async simulate(plan: LocalVolPlan, tb: LocalVolTable, first: number, count: number): Promise<Float32Array> {
    this.uploadStatic(plan, tb);
    await this.simulateChunk(plan, tb, first, count);
    return new Float32Array(await readBuffer(this.ctx, this.buffers.paths.buffer!, LvPathPointRecord.bytes(count * plan.expiries.length)));
  }

  /** 1 x M x 9 moment sums over all plan.units units, f32 blocks accumulated in f64. */
  async moments(plan: LocalVolPlan, tb: LocalVolTable): Promise<Float64Array> {
    const B = this.buffers;
    const nExp = plan.expiries.length;
    const M = plan.kRel.length;
    this.uploadStatic(plan, tb);
    B.quotes.write(McQuoteRecord.pack(Array.from(plan.kRel, (k, m) => ({ expiry: plan.quoteExpiry[m], k, isCall: plan.isCall[m] }))));
    const maxBytes = Math.min(PATH_BYTES, this.ctx.limits.maxStorageBufferBindingSize);
    const chunk = Math.max(BLOCK, Math.floor(maxBytes / LvPathPointRecord.bytes(nExp) / BLOCK) * BLOCK);
    const total = new Float64Array(M * SUMS);
    const reduce = await getKernel(this.ctx, MC_LOCALVOL_SHADER, 'reduce');
    for (let first = 0; first < plan.units; first += chunk) {
      const count = Math.min(chunk, plan.units - first);
      await this.simulateChunk(plan, tb, first, count);
      const nBlocks = Math.ceil(count / BLOCK);
      const hdr = B.redHdr.write(
        LvReduceHeaderRecord.packOne({ count, expiries: nExp, quotes: M, block: BLOCK, blocks: nBlocks, pathsPerUnit: plan.antithetic ? 2 : 1, richardson: plan.richardson ? 1 : 0 }),
      );
      const sumBytes = M * nBlocks * SUMS * 4;
      const sums = B.sums.ensure(sumBytes);
      this.peak = Math.max(this.peak, this.bytes());
      dispatchKernel(this.ctx, reduce, { redHdr: hdr, quotes: B.quotes.buffer!, paths: B.paths.buffer!, sums }, workgroupGrid(this.ctx, M * nBlocks, WORKGROUP_SIZE));
      const part = new Float32Array(await readBuffer(this.ctx, sums, sumBytes));
      for (let m = 0; m < M; m++) {
        for (let b = 0; b < nBlocks; b++) {
          const o = (m * nBlocks + b) * SUMS;
          for (let s = 0; s < SUMS; s++) total[m * SUMS + s] += part[o + s];
        }
      }
    }
    const bad = total.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`f32 overflow in the local-vol payoff sums (quote ${Math.floor(bad / SUMS)})`);
    return total;
  }

  private bytes(): number {
    return Object.values(this.buffers).reduce((a, b) => a + b.bytes, 0);
  }

  peakBytes(): number {
    return this.peak;
  }

  destroy(): void {
    Object.values(this.buffers).forEach((b) => b.destroy());
  }
}
