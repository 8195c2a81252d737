/**
 * The small amount of WebGPU plumbing every kernel needs: pipelines compiled once per device
 * and reused, storage buffers that grow instead of being recreated per call, one-dispatch
 * submission and readback. Kernels call these; none of them builds pipelines itself.
 */
import type { GpuContext } from './device.js';
import type { BindingSpec, ShaderLayout } from './layout.js';
import { loadShader } from './shaderSource.js';

/**
 * Invocations per workgroup of every kernel (the `override WG` of each shader, set here at
 * pipeline creation). A power of two: lm_normal.wgsl reduces its workgroup by halving.
 */
export const WORKGROUP_SIZE = 64;

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
  write(data: ArrayBufferView | ArrayBuffer): GPUBuffer {
    const view = data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    const buf = this.ensure(view.byteLength);
    this.ctx.device.queue.writeBuffer(buf, 0, view.buffer, view.byteOffset, view.byteLength);
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

/**
 * Named growable buffers kept per device (labelled `prefix.name`): a kernel module's scratch
 * space, allocated on first use and reused by every later call on that device.
 */
export function deviceBuffers<K extends string>(prefix: string, names: readonly K[]): (ctx: GpuContext) => Record<K, GrowableBuffer> {
  const byDevice = new WeakMap<GPUDevice, Record<K, GrowableBuffer>>();
  return (ctx) => {
    let b = byDevice.get(ctx.device);
    if (!b) {
      b = Object.fromEntries(names.map((n) => [n, new GrowableBuffer(ctx, `${prefix}.${n}`)])) as Record<K, GrowableBuffer>;
      byDevice.set(ctx.device, b);
    }
    return b;
  };
}

/** Workgroup counts for `n` invocations; spills into y when x would exceed the device limit. */
export function workgroupGrid(ctx: GpuContext, n: number, workgroupSize: number): [number, number] {
  const groups = Math.max(1, Math.ceil(n / workgroupSize));
  const maxX = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= maxX) return [groups, 1];
  const y = Math.ceil(groups / maxX);
  return [Math.ceil(groups / y), y];
}

/**
 * Encodes one dispatch with bind group 0 = `buffers` in binding order, and submits it (test
 * kernels without a declaration; the engines' kernels bind by name: dispatchKernel).
 */
export function dispatch(
  ctx: GpuContext,
  pipeline: GPUComputePipeline,
  buffers: GPUBuffer[],
  grid: [number, number] | [number, number, number],
): void {
  dispatchEntries(ctx, pipeline, buffers.map((buffer, binding) => ({ binding, resource: { buffer } })), grid);
}

function dispatchEntries(ctx: GpuContext, pipeline: GPUComputePipeline, entries: GPUBindGroupEntry[], grid: [number, number] | [number, number, number]): void {
  const device = ctx.device;
  // A validation error (bad binding, buffer too small) would otherwise only be printed while the
  // kernel's output stays stale: collect it, and readBuffer turns it into an exception.
  device.pushErrorScope('validation');
  const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(grid[0], grid[1], grid[2] ?? 1);
  pass.end();
  device.queue.submit([encoder.finish()]);
  ctx.pendingErrors.push(device.popErrorScope());
}

/** A compiled entry point of a declared shader (layout.ts defineShader), bound by binding name. */
export interface Kernel<N extends string> {
  readonly pipeline: GPUComputePipeline;
  readonly label: string;
  /** The bindings this entry point uses, with their binding numbers. */
  readonly bindings: ReadonlyArray<readonly [N, number]>;
}

type AnyEntries<B> = Record<string, ReadonlyArray<keyof B & string>>;

/**
 * Compiles (once per device and constants) entry point `entry` of a declared shader, with the
 * declaration's override constants plus `constants`.
 */
export async function getKernel<B extends Record<string, BindingSpec>, E extends AnyEntries<B>, K extends keyof E & string>(
  ctx: GpuContext,
  shader: ShaderLayout<B, E>,
  entry: K,
  constants: Record<string, number> = {},
): Promise<Kernel<E[K][number]>> {
  const pipeline = await getPipeline(ctx, shader.file, entry, { ...shader.overrides, ...constants });
  const names = shader.entries[entry] as ReadonlyArray<E[K][number]>;
  return { pipeline, label: `${shader.file}#${entry}`, bindings: names.map((n) => [n, shader.binding(n)] as const) };
}

/** Encodes and submits one dispatch of `kernel` with each of its bindings given a buffer by name. */
export function dispatchKernel<N extends string>(
  ctx: GpuContext,
  kernel: Kernel<N>,
  buffers: { readonly [K in N]: GPUBuffer },
  grid: [number, number] | [number, number, number],
): void {
  const given = buffers as Readonly<Record<string, GPUBuffer | undefined>>;
  for (const name of Object.keys(given)) {
    if (!kernel.bindings.some(([n]) => n === name)) throw new Error(`${kernel.label}: binding ${name} is not used by this entry point`);
  }
  const entries = kernel.bindings.map(([name, binding]) => {
    const buffer = given[name];
    if (!buffer) throw new Error(`${kernel.label}: no buffer for binding ${name}`);
    return { binding, resource: { buffer } };
  });
  dispatchEntries(ctx, kernel.pipeline, entries, grid);
}

/** Copies the first `bytes` of `src` back to the CPU. */
export async function readBuffer(ctx: GpuContext, src: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
  const size = Math.max(16, Math.ceil(bytes / 16) * 16);
  const staging = ctx.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  // A copy past the end of `src` would leave zeros in staging without a word: an error instead.
  ctx.device.pushErrorScope('validation');
  const encoder = ctx.device.createCommandEncoder();
  encoder.copyBufferToBuffer(src, 0, staging, 0, size);
  ctx.device.queue.submit([encoder.finish()]);
  ctx.pendingErrors.push(ctx.device.popErrorScope());
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
