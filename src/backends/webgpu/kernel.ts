/**
 * The small amount of WebGPU plumbing every kernel needs: pipelines compiled once per device
 * and reused, storage buffers that grow instead of being recreated per call, one-dispatch
 * submission and readback. Kernels call these; none of them builds pipelines itself.
 */
import type { GpuContext } from './device.js';
import { loadShader } from './shaderSource.js';

const pipelineCache = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

/** Compiles `shaders/<shader>` once per device and entry point (and override constants). */
export function getPipeline(
  ctx: GpuContext,
  shader: string,
  entryPoint: string,
  constants: Record<string, number> = {},
): Promise<GPUComputePipeline> {
  let byKey = pipelineCache.get(ctx.device);
  if (!byKey) pipelineCache.set(ctx.device, (byKey = new Map()));
  const key = `${shader}#${entryPoint}#${JSON.stringify(constants)}`;
  let p = byKey.get(key);
  if (!p) {
    p = compile(ctx, shader, entryPoint, constants);
    byKey.set(key, p);
    p.catch(() => byKey!.delete(key));
  }
  return p;
}

async function compile(
  ctx: GpuContext,
  shader: string,
  entryPoint: string,
  constants: Record<string, number>,
): Promise<GPUComputePipeline> {
  const code = await loadShader(shader);
  const device = ctx.device;
  const module = device.createShaderModule({ label: shader, code });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length) {
    const text = errors.map((m) => `${shader}:${m.lineNum}:${m.linePos} ${m.message}`).join('\n');
    throw new Error(`WGSL compilation failed:\n${text}`);
  }
  device.pushErrorScope('validation');
  const pipeline = await device.createComputePipelineAsync({
    label: `${shader}#${entryPoint}`,
    layout: 'auto',
    compute: { module, entryPoint, constants },
  });
  const err = await device.popErrorScope();
  if (err) throw new Error(`pipeline ${shader}#${entryPoint}: ${err.message}`);
  return pipeline;
}

/** A storage buffer that keeps its allocation across calls and grows when data outgrows it. */
export class GrowableBuffer {
  buffer: GPUBuffer | undefined;
  private capacity = 0;

  constructor(
    private readonly ctx: GpuContext,
    private readonly label: string,
    private readonly usage: number = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
  ) {}

  /** Makes room for `bytes` (rounded up to 16) and returns the buffer. */
  ensure(bytes: number): GPUBuffer {
    const need = Math.max(16, Math.ceil(bytes / 16) * 16);
    if (!this.buffer || this.capacity < need) {
      this.buffer?.destroy();
      // Grow geometrically so a slowly growing batch does not reallocate every call; keep the
      // size a multiple of 16 (storage bindings must be a multiple of 4 bytes).
      this.capacity = Math.max(need, Math.ceil((this.capacity * 1.5) / 16) * 16);
      this.buffer = this.ctx.device.createBuffer({ label: this.label, size: this.capacity, usage: this.usage });
    }
    return this.buffer;
  }

  /** Uploads `data` (at offset 0), growing first if needed. */
  write(data: ArrayBufferView): GPUBuffer {
    const buf = this.ensure(data.byteLength);
    this.ctx.device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
    return buf;
  }

  get bytes(): number {
    return this.capacity;
  }

  destroy(): void {
    this.buffer?.destroy();
    this.buffer = undefined;
    this.capacity = 0;
  }
}

/** Workgroup counts for `n` invocations; spills into y when x would exceed the device limit. */
export function workgroupGrid(ctx: GpuContext, n: number, workgroupSize: number): [number, number] {
  const groups = Math.max(1, Math.ceil(n / workgroupSize));
  const maxX = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= maxX) return [groups, 1];
  const y = Math.ceil(groups / maxX);
  return [Math.ceil(groups / y), y];
}

/** Encodes one dispatch with bind group 0 = `buffers` in binding order, and submits it. */
export function dispatch(
  ctx: GpuContext,
  pipeline: GPUComputePipeline,
  buffers: GPUBuffer[],
  grid: [number, number] | [number, number, number],
): void {
  const device = ctx.device;
  // A validation error (bad binding, buffer too small) would otherwise only be printed while the
  // kernel's output stays stale: collect it, and readBuffer turns it into an exception.
  device.pushErrorScope('validation');
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(grid[0], grid[1], grid[2] ?? 1);
  pass.end();
  device.queue.submit([encoder.finish()]);
  ctx.pendingErrors.push(device.popErrorScope());
}

/** Copies the first `bytes` of `src` back to the CPU. */
export async function readBuffer(ctx: GpuContext, src: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
  const size = Math.max(16, Math.ceil(bytes / 16) * 16);
  const staging = ctx.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = ctx.device.createCommandEncoder();
  encoder.copyBufferToBuffer(src, 0, staging, 0, size);
  ctx.device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const errors = (await Promise.all(ctx.pendingErrors.splice(0))).filter((e) => e !== null);
  if (errors.length) {
    staging.unmap();
    staging.destroy();
    throw new Error(`WebGPU validation failed: ${errors[0]!.message.split('\n')[0]}`);
  }
  const out = staging.getMappedRange(0, size).slice(0, bytes);
  staging.unmap();
  staging.destroy();
  return out;
}

/** A 16-byte-aligned uniform-like parameter block passed as a storage buffer of u32/f32 words. */
export function packWords(values: Array<{ u32?: number; f32?: number; i32?: number }>): ArrayBuffer {
  const n = Math.max(4, Math.ceil(values.length / 4) * 4);
  const buf = new ArrayBuffer(n * 4);
  const dv = new DataView(buf);
  values.forEach((v, i) => {
    if (v.u32 !== undefined) dv.setUint32(i * 4, v.u32, true);
    else if (v.i32 !== undefined) dv.setInt32(i * 4, v.i32, true);
    else dv.setFloat32(i * 4, v.f32 ?? 0, true);
  });
  return buf;
}
