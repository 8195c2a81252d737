/**
 * The tier a fit runs on, decided in the worker where it will run: WebGPU (navigator.gpu, the
 * library's own device acquisition) -> WebGL2 (an OffscreenCanvas context with float render
 * targets) -> the f64 CPU engine. A forced tier that is missing is an error, never a silent swap
 * (the CLI's rule for --backend).
 */
import { getGpu, gpuUnavailableReason } from '../../src/backends/webgpu/device.js';
import type { Tier } from './protocol.js';

export interface TierChoice {
  tier: Tier;
  adapter: string;
  webgl?: WebGL2RenderingContext;
  /** Why a better tier was passed over. */
  note?: string;
}

export class TierUnavailableError extends Error {}

async function webgpu(): Promise<TierChoice | string> {
  const gpu = await getGpu();
  if (!gpu) return gpuUnavailableReason();
  return { tier: 'webgpu', adapter: gpu.adapterDescription + (gpu.software ? ' (software rasteriser)' : '') };
}

function webgl2(): TierChoice | string {
  if (typeof OffscreenCanvas === 'undefined') return 'no OffscreenCanvas in this worker';
  const gl = new OffscreenCanvas(1, 1).getContext('webgl2', { antialias: false, depth: false, powerPreference: 'high-performance' });
  if (!gl) return 'WebGL2 is disabled or unsupported';
  // Float render targets: the pricing pass writes one f32 price per pixel.
  if (!gl.getExtension('EXT_color_buffer_float')) return 'WebGL2 has no EXT_color_buffer_float (float render targets)';
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const adapter = String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
  return { tier: 'webgl2', adapter, webgl: gl };
}

export async function detectTier(request: Tier | 'auto'): Promise<TierChoice> {
  const cpu: TierChoice = { tier: 'cpu', adapter: 'f64 TypeScript in a Web Worker' };
  if (request === 'cpu') return cpu;
  const notes: string[] = [];
  if (request === 'auto' || request === 'webgpu') {
    const g = await webgpu();
    if (typeof g !== 'string') return g;
    if (request === 'webgpu') throw new TierUnavailableError(`backend=webgpu requested but unavailable: ${g}`);
    notes.push(`no WebGPU: ${g}`);
  }
  const w = webgl2();
  if (typeof w !== 'string') return { ...w, ...(notes.length ? { note: notes.join('; ') } : {}) };
  if (request === 'webgl2') throw new TierUnavailableError(`backend=webgl2 requested but unavailable: ${w}`);
  notes.push(`no WebGL2: ${w}`);
  return { ...cpu, note: notes.join('; ') };
}
