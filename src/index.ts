/** volfit library entry point. */
export * from './backends/backend.js';
export { getGpu, releaseGpu, type GpuContext } from './backends/webgpu/device.js';
