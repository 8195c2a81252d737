/**
 * GPU availability for tests. With VOLFIT_REQUIRE_WEBGPU=1 (CI) a missing adapter fails the
 * suite; otherwise GPU tests are skipped and the reason is printed once.
 */
import { getGpu, gpuUnavailableReason, type GpuContext } from '../../src/backends/webgpu/device.js';

export const requireWebGpu = process.env.VOLFIT_REQUIRE_WEBGPU === '1';

let warned = false;

/** Resolves to the GPU context, or null (GPU tests skip) when none answers and none is required. */
export async function gpuForTests(): Promise<GpuContext | null> {
  const gpu = await getGpu();
  if (gpu) return gpu;
  if (requireWebGpu) {
    throw new Error(`VOLFIT_REQUIRE_WEBGPU=1 but no WebGPU adapter: ${gpuUnavailableReason()}`);
  }
  if (!warned) {
    warned = true;
    console.warn(`[volfit tests] skipping WebGPU tests: ${gpuUnavailableReason()}`);
  }
  return null;
}

/** Top-level-await friendly flag for `describe.skipIf(!hasGpu)`. */
export const gpu: GpuContext | null = await gpuForTests();
export const hasGpu = gpu !== null;
