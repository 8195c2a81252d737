/**
 * Acquires one WebGPU device for the process: `navigator.gpu` in browsers, Dawn's node
 * bindings (npm `webgpu`) in Node. On a GPU-less Linux box Dawn finds SwiftShader (Vulkan on
 * the CPU) when Debian's `chromium-common` is installed; we point the Vulkan loader at it only
 * when nothing else was configured, so a real GPU always wins.
 */

export interface GpuContext {
  device: GPUDevice;
  adapterDescription: string;
  /** True for CPU rasterisers (SwiftShader, llvmpipe): correct, not fast. */
  software: boolean;
  /** Set once the device is lost; kernels then fall back to the CPU. */
  lost: boolean;
  lostReason?: string;
  limits: GPUSupportedLimits;
  /** Validation-error scopes of dispatches not yet read back (see kernel.ts). */
  pendingErrors: Array<Promise<GPUError | null>>;
}

const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib64/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
];

// dawn.node segfaults if the object returned by create() is collected while a device lives:
// keep it for the life of the process.
let dawnGpu: GPU | undefined;
let contextPromise: Promise<GpuContext | null> | undefined;
let lastFailure = 'no WebGPU adapter was requested yet';

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node;
}

async function nodeGpu(): Promise<GPU | null> {
  if (dawnGpu) return dawnGpu;
  let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    mod = (await import('webgpu')) as unknown as typeof mod;
  } catch (e) {
    lastFailure = `npm package 'webgpu' could not be loaded: ${(e as Error).message}`;
    return null;
  }
  Object.assign(globalThis, mod.globals);
  const fs = await import('node:fs');
  const env = process.env;
  if (!env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES) {
    const vendorIcds = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'].some(
      (d) => fs.existsSync(d) && fs.readdirSync(d).some((f) => f.endsWith('.json')),
    );
    const swiftshader = SWIFTSHADER_ICDS.find((p) => fs.existsSync(p));
    if (!vendorIcds && swiftshader) env.VK_ICD_FILENAMES = swiftshader;
  }
  const flags = (env.VOLFIT_DAWN_FLAGS ?? '').split(' ').filter(Boolean);
  dawnGpu = mod.create(flags);
  return dawnGpu;
}

async function acquire(): Promise<GpuContext | null> {
  let gpu: GPU | null = null;
  if (isNode()) gpu = await nodeGpu();
  else if (typeof navigator !== 'undefined' && 'gpu' in navigator) gpu = navigator.gpu;
  else lastFailure = 'this environment has no navigator.gpu';
  if (!gpu) return null;

  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    lastFailure =
      'no WebGPU adapter answered (on a GPU-less Linux box: apt-get install libvulkan1 chromium-common)';
    return null;
  }
  const info = adapter.info;
  const description =
    [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(' ') ||
    'unknown adapter';
  const software = /swiftshader|llvmpipe|lavapipe|software|cpu/i.test(description);
  // Ask for the adapter's storage limits: the default 128 MiB binding is too small for batched surfaces.
  const requiredLimits: Record<string, number> = {
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxBufferSize: adapter.limits.maxBufferSize,
    maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
    maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage,
  };
  const device = await adapter.requestDevice({ requiredLimits });
  const ctx: GpuContext = {
    device,
    adapterDescription: description,
    software,
    lost: false,
    limits: device.limits,
    pendingErrors: [],
  };
  device.lost.then((info) => {
    ctx.lost = true;
    ctx.lostReason = info.message || info.reason || 'device lost';
  });
  return ctx;
}

/** The process-wide WebGPU context, or null when no adapter answers. Never throws. */
export function getGpu(): Promise<GpuContext | null> {
  contextPromise ??= acquire().catch((e: Error) => {
    lastFailure = `WebGPU initialisation failed: ${e.message}`;
    return null;
  });
  return contextPromise;
}

/** Why the last getGpu() returned null, for error messages. */
export function gpuUnavailableReason(): string {
  return lastFailure;
}

/** Releases the device (tests and short CLI runs call this so the process can exit promptly). */
export async function releaseGpu(): Promise<void> {
  if (!contextPromise) return;
  const ctx = await contextPromise;
  contextPromise = undefined;
  ctx?.device.destroy();
}
