/**
 * The WebGL2 tier's SurfacePricer: the COS kernel of shaders/cos.wgsl transcribed to GLSL ES
 * 3.00 (cos.glsl, math.glsl) and run as two fragment passes into RGBA32F textures, read back
 * with readPixels. The f64 set-up and the control variate are the WebGPU engine's own
 * (prepareCosBatch / finishCosBatch in src/engines/cos/gpu.ts), so both GPU tiers price the
 * same f32 sums. Models without a COS kernel, and any GL failure, price on the f64 CPU engine.
 */
import type { Backend } from '../../../src/backends/backend.js';
import { pricerFactoryFor } from '../../../src/calibrator/pricers.js';
import { cosPricesBatch } from '../../../src/engines/cos/cpu.js';
import { checkQuotes, groupByExpiry, type ExpiryGroups } from '../../../src/engines/cos/expiries.js';
import { COS_F32_DEFAULTS, cosKernelId, finishCosBatch, prepareCosBatch } from '../../../src/engines/cos/gpu.js';
import type { BatchPrices, PricerFactory, PricerHooks, QuoteSet, SurfacePricer } from '../../../src/engines/pricer.js';
import type { Model } from '../../../src/models/types.js';
import COS_GLSL from './cos.glsl?raw';
import MATH_GLSL from './math.glsl?raw';

const VERTEX = `#version 300 es
void main() {
  // One triangle covering the viewport.
  vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
  gl_Position = vec4(2.0 * p - 1.0, 0.0, 1.0);
}`;

const fragment = (pass: 'COEF' | 'SUM') =>
  `#version 300 es\nprecision highp float;\nprecision highp int;\nprecision highp sampler2D;\n#define ${pass}\n${MATH_GLSL}\n${COS_GLSL}`;

/** Quote records per row of the SUM target. */
const RECORDS_PER_ROW = 1024;

class GlCos {
  private readonly coefProgram: WebGLProgram;
  private readonly sumProgram: WebGLProgram;
  private readonly textures: Record<'plans' | 'coef' | 'recs' | 'out', WebGLTexture>;
  private readonly fb: WebGLFramebuffer;
  private readonly vao: WebGLVertexArrayObject;

  constructor(private readonly gl: WebGL2RenderingContext) {
    this.coefProgram = program(gl, fragment('COEF'));
    this.sumProgram = program(gl, fragment('SUM'));
    const tex = () => {
      const t = gl.createTexture()!;
      gl.bindTexture(gl.TEXTURE_2D, t);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
      return t;
    };
    this.textures = { plans: tex(), coef: tex(), recs: tex(), out: tex() };
    this.fb = gl.createFramebuffer()!;
    this.vao = gl.createVertexArray()!;
  }

  private upload(t: WebGLTexture, w: number, h: number, data: Float32Array | null): void {
    const gl = this.gl;
    gl.bindTexture(gl.TEXTURE_2D, t);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA32F, w, h, 0, gl.RGBA, gl.FLOAT, data);
  }

  private draw(prog: WebGLProgram, target: WebGLTexture, w: number, h: number, inputs: Array<[string, WebGLTexture]>, ints: Record<string, number>): void {
    const gl = this.gl;
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.fb);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, target, 0);
    if (gl.checkFramebufferStatus(gl.FRAMEBUFFER) !== gl.FRAMEBUFFER_COMPLETE) throw new Error('WebGL2: float render target incomplete');
    gl.viewport(0, 0, w, h);
    gl.useProgram(prog);
    inputs.forEach(([name, t], unit) => {
      gl.activeTexture(gl.TEXTURE0 + unit);
      gl.bindTexture(gl.TEXTURE_2D, t);
      gl.uniform1i(gl.getUniformLocation(prog, name), unit);
    });
    for (const [name, v] of Object.entries(ints)) gl.uniform1i(gl.getUniformLocation(prog, name), v);
    gl.bindVertexArray(this.vao);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
  }

  /** The kernel's f32 put differences of one prepared batch. */
  run(model: Model, batch: ReturnType<typeof prepareCosBatch>): Float32Array {
    const gl = this.gl;
    const { nPlans, nRec, stride } = batch;
    const max = gl.getParameter(gl.MAX_TEXTURE_SIZE) as number;
    const RW = Math.min(RECORDS_PER_ROW, nRec);
    const rows = Math.ceil(nRec / RW);
    if (stride > max || nPlans > max || rows > max) throw new Error(`WebGL2: batch of ${nPlans} plans x ${stride} terms exceeds textures of ${max}`);
    const plans = new Float32Array(nPlans * 16);
    batch.planRecs.forEach((p, j) => {
      plans.set([p.w, p.terms, p.c1, p.c2, p.alphaHi, p.alphaLo, p.T, 0], j * 16);
      plans.set(Array.from(p.params), j * 16 + 8);
    });
    const recs = new Float32Array(RW * rows * 8);
    batch.quoteRecs.forEach((q, r) => recs.set([q.thetaHi, q.thetaLo, q.kappa, q.expD, q.expA, q.index, q.below, 0], r * 8));
    const t = this.textures;
    this.upload(t.plans, 4, nPlans, plans);
    this.upload(t.recs, 2 * RW, rows, recs);
    this.upload(t.coef, stride, nPlans, null);
    this.upload(t.out, RW, rows, null);
    const MODEL = cosKernelId(model)!;
    this.draw(this.coefProgram, t.coef, stride, nPlans, [['plans', t.plans]], { MODEL });
    this.draw(this.sumProgram, t.out, RW, rows, [['plans', t.plans], ['coef', t.coef], ['recs', t.recs]], { MODEL, RW, records: nRec });
    const px = new Float32Array(RW * rows * 4);
    gl.readPixels(0, 0, RW, rows, gl.RGBA, gl.FLOAT, px);
    const err = gl.getError();
    if (err !== gl.NO_ERROR) throw new Error(`WebGL2 error 0x${err.toString(16)}`);
    const diff = new Float32Array(nRec);
    for (let r = 0; r < nRec; r++) diff[r] = px[4 * r];
    return diff;
  }
}

function program(gl: WebGL2RenderingContext, fragmentSource: string): WebGLProgram {
  const shader = (type: number, src: string) => {
    const s = gl.createShader(type)!;
    gl.shaderSource(s, src);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(`WebGL2 shader: ${gl.getShaderInfoLog(s)}`);
    return s;
  };
  const p = gl.createProgram()!;
  gl.attachShader(p, shader(gl.VERTEX_SHADER, VERTEX));
  gl.attachShader(p, shader(gl.FRAGMENT_SHADER, fragmentSource));
  gl.linkProgram(p);
  if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error(`WebGL2 program: ${gl.getProgramInfoLog(p)}`);
  return p;
}

let shared: { gl: WebGL2RenderingContext; cos: GlCos } | undefined;

function glCos(gl: WebGL2RenderingContext): GlCos {
  if (shared?.gl !== gl) shared = { gl, cos: new GlCos(gl) };
  return shared.cos;
}

export function createWebGl2CosPricer(gl: WebGL2RenderingContext, model: Model, quotes: QuoteSet, hooks: PricerHooks = {}, log: (m: string) => void = () => {}): SurfacePricer {
  checkQuotes(quotes);
  const groups: ExpiryGroups = groupByExpiry(quotes);
  const P = model.params.length;
  let failed: string | undefined;
  return {
    model,
    quotes,
    precision: 'f32',
    async priceBatch(params: Float64Array, n: number): Promise<BatchPrices> {
      if (params.length < n * P) throw new RangeError(`params holds ${params.length} values, need ${n} x ${P}`);
      if (!failed && !gl.isContextLost()) {
        try {
          const batch = prepareCosBatch(model, quotes, groups, params, n, COS_F32_DEFAULTS);
          const prices = finishCosBatch(quotes, groups, batch, glCos(gl).run(model, batch), n);
          hooks.heartbeat?.();
          return { prices, backend: 'webgl2' };
        } catch (e) {
          failed = (e as Error).message;
          log(`COS pricing: WebGL2 failed (${failed}); finishing on the CPU`);
        }
      }
      return { prices: cosPricesBatch(model, params, n, quotes, undefined, groups, hooks.heartbeat), backend: 'cpu' };
    },
    gpuBytes: () => 0,
    dispose: () => {},
  };
}

/** The calibrator's pricer factory on the WebGL2 tier. */
export function webgl2PricerFactory(gl: WebGL2RenderingContext, log?: (m: string) => void): PricerFactory {
  return (model: Model, quotes: QuoteSet, backend: Backend, hooks?: PricerHooks) =>
    cosKernelId(model) !== undefined ? createWebGl2CosPricer(gl, model, quotes, hooks, log) : pricerFactoryFor(model, undefined, log)(model, quotes, backend, hooks);
}
