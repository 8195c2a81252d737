/**
 * Backend selection. `cpu` is the f64 TypeScript oracle and is always there; `webgpu` runs the
 * WGSL kernels. `auto` takes WebGPU when an adapter answers and says on stderr what it chose.
 * A backend asked for by name that is missing is an error, never a silent swap.
 */
import { getGpu, gpuUnavailableReason, type GpuContext } from './webgpu/device.js';

export type BackendRequest = 'auto' | 'webgpu' | 'cpu';
export const BACKEND_REQUESTS: readonly BackendRequest[] = ['auto', 'webgpu', 'cpu'];

export type Backend =
  | { name: 'cpu'; description: string }
  | { name: 'webgpu'; description: string; gpu: GpuContext };

export type Logger = (message: string) => void;
export const stderrLogger: Logger = (m) => process.stderr.write(`volfit: ${m}\n`);
export const silentLogger: Logger = () => {};

export class BackendUnavailableError extends Error {}

export function parseBackendRequest(value: string): BackendRequest {
  if ((BACKEND_REQUESTS as readonly string[]).includes(value)) return value as BackendRequest;
  throw new Error(`--backend must be one of ${BACKEND_REQUESTS.join('|')}, got '${value}'`);
}

const CPU: Backend = { name: 'cpu', description: 'cpu (f64 TypeScript)' };

export async function selectBackend(request: BackendRequest, log: Logger = stderrLogger): Promise<Backend> {
  if (request === 'cpu') return CPU;
  const gpu = await getGpu();
  if (gpu && !gpu.lost) {
    const backend: Backend = {
      name: 'webgpu',
      description: `webgpu (${gpu.adapterDescription}${gpu.software ? ', software rasteriser' : ''})`,
      gpu,
    };
    log(`backend ${backend.description}`);
    return backend;
  }
  const why = gpu?.lost ? `the WebGPU device was lost: ${gpu.lostReason}` : gpuUnavailableReason();
  if (request === 'webgpu') {
    throw new BackendUnavailableError(`--backend webgpu requested but unavailable: ${why}`);
  }
  log(`backend cpu: no usable WebGPU adapter (${why})`);
  return CPU;
}

/**
 * Runs `onGpu` on a WebGPU backend and `onCpu` otherwise. If the device is lost or a GPU call
 * fails mid-work, the work is finished on the CPU and the switch is logged; the returned
 * `backend` says where the result really came from.
 */
export async function runOnBackend<T>(
  backend: Backend,
  what: string,
  onGpu: (gpu: GpuContext) => Promise<T>,
  onCpu: () => T | Promise<T>,
  log: Logger = stderrLogger,
): Promise<{ value: T; backend: 'webgpu' | 'cpu' }> {
  if (backend.name === 'webgpu' && !backend.gpu.lost) {
    try {
      return { value: await onGpu(backend.gpu), backend: 'webgpu' };
    } catch (e) {
      const reason = backend.gpu.lost ? `device lost (${backend.gpu.lostReason})` : (e as Error).message;
      log(`${what}: WebGPU failed (${reason}); finishing on the CPU`);
    }
  } else if (backend.name === 'webgpu') {
    log(`${what}: WebGPU device was lost (${backend.gpu.lostReason}); running on the CPU`);
  }
  return { value: await onCpu(), backend: 'cpu' };
}
