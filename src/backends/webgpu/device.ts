/**
 * Acquires one WebGPU device for the process: `navigator.gpu` in browsers, Dawn's node
 * bindings (npm `webgpu`) in Node. Which Vulkan drivers Dawn is offered is decided in
 * vulkanDrivers.ts: the system's first (a real GPU wins), then SwiftShader (Debian's
 * `chromium-common`), which runs the WGSL on the CPU.
 */
import { planVulkanDrivers, validRuntimeDir, type DriverPlan } from './vulkanDrivers.js';

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

// dawn.node segfaults if the object returned by create() is collected while a device lives:
// keep it for the life of the process.
let dawnGpu: GPU | undefined;
let contextPromise: Promise<GpuContext | null> | undefined;
let lastFailure = 'no WebGPU adapter was requested yet';

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node;
}

let verbose = false;
let verboseLog: (message: string) => void = () => {};

/**
 * `--verbose`: discovery detail through `log`, and Dawn's native messages left on stderr
 * (lavapipe offered so Dawn says why it rejects it; XDG_RUNTIME_DIR not repaired).
 */
export function setGpuVerbose(on: boolean, log: (message: string) => void): void {
  verbose = on;
  verboseLog = on ? log : () => {};
}

async function prepareVulkanEnvironment(env: NodeJS.ProcessEnv): Promise<DriverPlan> {
  const fs = await import('node:fs');
  const plan = planVulkanDrivers(env, {
    exists: (p) => fs.existsSync(p),
    jsonFiles: (d) => {
      try {
        return fs.readdirSync(d).filter((f) => f.endsWith('.json')).sort();
      } catch {
        return [];
      }
    },
  }, verbose);
  if (plan.files) env.VK_ICD_FILENAMES = env.VK_DRIVER_FILES = plan.files.join(':');
  verboseLog(`webgpu: Vulkan drivers offered to Dawn: ${plan.files?.join(':') ?? env.VK_ICD_FILENAMES ?? env.VK_DRIVER_FILES ?? 'loader default'}`);
  if (!verbose) quietRuntimeDir(env, fs);
  return plan;
}

/** Gives Mesa's ICDs a valid private XDG_RUNTIME_DIR so they do not complain on stderr. */
function quietRuntimeDir(env: NodeJS.ProcessEnv, fs: typeof import('node:fs')): void {
  const uid = process.getuid?.() ?? 0;
  const stat = (p: string) => {
    try {
      return fs.statSync(p);
    } catch {
      return undefined;
    }
  };
  if (env.XDG_RUNTIME_DIR && validRuntimeDir(stat(env.XDG_RUNTIME_DIR), uid)) return;
  const dir = `${(env.TMPDIR || '/tmp').replace(/\/$/, '')}/volfit-runtime-${uid}`;
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch {
    // exists already (checked below) or cannot be made: then Mesa's message stays, nothing worse
  }
  if (validRuntimeDir(stat(dir), uid)) env.XDG_RUNTIME_DIR = dir;
}

let driverPlan: DriverPlan | undefined;

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
  driverPlan = await prepareVulkanEnvironment(process.env);
  const flags = (process.env.VOLFIT_DAWN_FLAGS ?? '').split(' ').filter(Boolean);
  dawnGpu = mod.create(flags);
  return dawnGpu;
}

/** Why no adapter answered: what was offered, and what is missing. */
async function noAdapterReason(): Promise<string> {
  if (!isNode()) return 'navigator.gpu.requestAdapter() returned null (WebGPU disabled or unsupported in this browser)';
  const fs = await import('node:fs');
  const libDirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib64'];
  const loader = libDirs.some((d) => fs.existsSync(`${d}/libvulkan.so.1`));
  const tried = driverPlan?.tried ?? 'the loader default';
  const missing = loader ? '' : '; no Vulkan loader (libvulkan.so.1) found: apt-get install libvulkan1';
  return `no WebGPU adapter answered; tried ${tried}${missing}`;
}

async function acquire(): Promise<GpuContext | null> {
  let gpu: GPU | null = null;
  if (isNode()) gpu = await nodeGpu();
  else if (typeof navigator !== 'undefined' && 'gpu' in navigator) gpu = navigator.gpu;
  else lastFailure = 'this environment has no navigator.gpu';
  if (!gpu) return null;

  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    lastFailure = await noAdapterReason();
    return null;
  }
  const info = adapter.info;
  const description =
    [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(' ') ||
    'unknown adapter';
  const software = /swiftshader|llvmpipe|lavapipe|software|cpu/i.test(description);
  verboseLog(`webgpu: adapter ${description} (${info?.architecture || 'architecture unknown'}), max storage binding ${adapter.limits.maxStorageBufferBindingSize} B`);
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
