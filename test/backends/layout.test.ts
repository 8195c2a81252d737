/**
 * GPU record layouts (src/backends/webgpu/layout.ts): WGSL storage alignment and size rules (the
 * spec's own worked example), packing round trips, refusals (u32 that are not, arrays that would
 * spill into the next record, reserved words), the generated struct/binding text and its
 * expansion in shaders, and, on WebGPU, that the WGSL compiler lays the generated structs out
 * exactly as the packer does (arrayLength of a packed buffer and every field read back).
 */
import { describe, expect, it } from 'vitest';
import { dispatchKernel, readBuffer, GrowableBuffer, type Kernel } from '../../src/backends/webgpu/kernel.js';
import { arrayOf, defineRecord, defineShader, structWgsl } from '../../src/backends/webgpu/layout.js';
import { expandShaderText } from '../../src/backends/webgpu/shaderSource.js';
import { gpu, hasGpu } from '../helpers/gpu.js';

// WGSL spec, "Alignment and Size" (structure layout examples): A is align 8 size 24; B is align 16
// size 160 with the offsets in the comments.
const A = defineRecord('ProbeA', [
  { name: 'u', type: 'f32' }, //   0
  { name: 'v', type: 'f32' }, //   4
  { name: 'w', type: 'vec2<f32>' }, //   8
  { name: 'x', type: 'f32' }, //  16
]);
const B = defineRecord('ProbeB', [
  { name: 'a', type: 'vec2<f32>' }, //   0
  { name: 'b', type: 'vec3<f32>' }, //  16
  { name: 'c', type: 'f32' }, //  28
  { name: 'd', type: 'f32' }, //  32
  { name: 'e', type: A }, //  40
  { name: 'f', type: 'vec3<f32>' }, //  64
  { name: 'g', type: A, count: 3 }, //  80, stride 24
  { name: 'h', type: 'i32' }, // 152
]);
// Integers, integer vectors and scalar arrays (the kinds the kernels use).
const C = defineRecord('ProbeC', [
  { name: 'index', type: 'u32' }, //  0
  { name: 'key', type: 'vec2<u32>' }, //  8
  { name: 'flag', type: 'u32' }, // 16
  { name: 'params', type: 'f32', count: 5 }, // 20
  { name: 'q', type: 'vec4<i32>' }, // 48
  { name: 'last', type: 'f32' }, // 64
]);

const PROBE_SHADER = defineShader({
  file: 'layout_probe.wgsl',
  bindings: {
    bs: { type: arrayOf(B), access: 'read' },
    cs: { type: arrayOf(C), access: 'read' },
    one: { type: C, access: 'read' },
    out: { type: 'array<u32>', access: 'read_write' },
  },
  entries: { probe_b: ['bs', 'out'], probe_c: ['cs', 'one', 'out'] },
  consts: { PROBE_WORDS: 64 },
});

function offsets(r: { fields: ReadonlyArray<{ name: string; offset: number }> }): Record<string, number> {
  return Object.fromEntries(r.fields.map((f) => [f.name, f.offset]));
}

function aValues(k: number) {
  return { u: k + 0.5, v: k + 1.25, w: [k + 2, k + 3.5], x: -k - 4 };
}
function bValues(k: number) {
  return {
    a: [k + 0.1, k + 0.2],
    b: [k + 1, k + 2, k + 3],
    c: k + 4,
    d: k + 5,
    e: aValues(10 * k + 1),
    f: [-k, -k - 1, -k - 2],
    g: [aValues(10 * k + 2), aValues(10 * k + 3), aValues(10 * k + 4)],
    h: -7 - k,
  };
}
function cValues(k: number) {
  return { index: 3 * k + 1, key: [0xfffffff0 + (k % 8), k], flag: k % 2, params: [k, k + 0.5, k + 1, k + 1.5, k + 2], q: [-k, k, -2 * k, 2 * k], last: 1 / (k + 1) };
}

/** The scalar components of B's values in declaration order (what the probe kernel writes). */
function bWords(v: ReturnType<typeof bValues>): Array<['f32' | 'i32', number]> {
  const a = (x: ReturnType<typeof aValues>): Array<['f32', number]> => [['f32', x.u], ['f32', x.v], ['f32', x.w[0]], ['f32', x.w[1]], ['f32', x.x]];
  return [
    ...v.a.map((x) => ['f32', x] as ['f32', number]),
    ...v.b.map((x) => ['f32', x] as ['f32', number]),
    ['f32', v.c],
    ['f32', v.d],
    ...a(v.e),
    ...v.f.map((x) => ['f32', x] as ['f32', number]),
    ...v.g.flatMap(a),
    ['i32', v.h],
  ];
}
function cWords(v: ReturnType<typeof cValues>): Array<['f32' | 'i32' | 'u32', number]> {
  return [
    ['u32', v.index],
    ['u32', v.key[0]],
    ['u32', v.key[1]],
    ['u32', v.flag],
    ...v.params.map((x) => ['f32', x] as ['f32', number]),
    ...v.q.map((x) => ['i32', x] as ['i32', number]),
    ['f32', v.last],
  ];
}
function bits([kind, x]: ['f32' | 'i32' | 'u32', number]): number {
  if (kind === 'f32') return new Uint32Array(Float32Array.of(x).buffer)[0];
  return x >>> 0;
}

describe('record layouts follow WGSL storage alignment and size', () => {
  it('reproduces the WGSL spec example (offsets, alignment, size, array stride)', () => {
    expect([A.align, A.size]).toEqual([8, 24]);
    expect(offsets(A)).toEqual({ u: 0, v: 4, w: 8, x: 16 });
    expect([B.align, B.size]).toEqual([16, 160]);
    expect(offsets(B)).toEqual({ a: 0, b: 16, c: 28, d: 32, e: 40, f: 64, g: 80, h: 152 });
    expect(B.field('g').stride).toBe(24);
    expect(B.field('g').size).toBe(72);
    expect([C.align, C.size]).toEqual([16, 80]);
    expect(offsets(C)).toEqual({ index: 0, key: 8, flag: 16, params: 20, q: 48, last: 64 });
  });

  it('generates the WGSL struct, nested records first and once', () => {
    expect(B.wgsl()).toContain('struct ProbeB {\n  a: vec2<f32>,\n  b: vec3<f32>,\n  c: f32,\n  d: f32,\n  e: ProbeA,\n  f: vec3<f32>,\n  g: array<ProbeA, 3>,\n  h: i32,\n}');
    const text = structWgsl('ProbeB');
    expect(text.indexOf('struct ProbeA')).toBeGreaterThanOrEqual(0);
    expect(text.indexOf('struct ProbeA')).toBeLessThan(text.indexOf('struct ProbeB'));
    const emitted = new Set<string>();
    structWgsl('ProbeA', emitted);
    expect(structWgsl('ProbeB', emitted)).not.toContain('struct ProbeA');
  });

  it('packs and unpacks: every field round-trips, flat packing agrees, padding stays zero', () => {
    const vals = [bValues(0), bValues(1), bValues(2)];
    const buf = B.pack(vals);
    expect(buf.byteLength).toBe(3 * 160);
    for (let i = 0; i < 3; i++) {
      const back = B.unpack(buf, i) as ReturnType<typeof bValues>;
      const words = bWords(back as ReturnType<typeof bValues>).map(bits);
      expect(words).toEqual(bWords(vals[i]).map(bits));
    }
    // Padding (B: 8..16, 36..40, 76..80, 156..160) is zero.
    const u = new Uint32Array(buf);
    for (const w of [2, 3, 9, 19, 39]) expect(u[40 + w]).toBe(0);
    // packFlat: the same scalars in declaration order.
    const flat = vals.flatMap((v) => bWords(v).map((w) => w[1]));
    expect(B.flatLength).toBe(flat.length / 3);
    expect(new Uint8Array(B.packFlat(flat))).toEqual(new Uint8Array(buf));
    // Integers travel as integers, not floats.
    const c = C.pack([cValues(5)]);
    expect(new Uint32Array(c)[0]).toBe(16);
    expect(new Uint32Array(c)[2]).toBe(0xfffffff5);
    expect(new Int32Array(c)[12]).toBe(-5);
    expect(C.column(C.pack([cValues(0), cValues(1), cValues(2)]), 'index', 3)).toEqual(Float64Array.from([1, 4, 7]));
  });

  it('refuses values that do not fit instead of spilling into the next record', () => {
    expect(() => C.pack([{ ...cValues(1), params: [1, 2, 3, 4, 5, 6] }])).toThrow(/ProbeC\[0\]\.params holds 5 values \(array<f32, 5>\), got 6/);
    expect(() => C.pack([cValues(0), { ...cValues(1), index: -1 }])).toThrow(/ProbeC\[1\]\.index: -1 is not a u32/);
    expect(() => C.pack([{ ...cValues(1), flag: 0.5 }])).toThrow(/is not a u32/);
    expect(() => C.pack([{ ...cValues(1), key: [1, 2, 3] }])).toThrow(/expected 2 numbers for vec2<u32>/);
    const { last: _, ...missing } = cValues(1);
    expect(() => C.pack([missing as ReturnType<typeof cValues>])).toThrow(/ProbeC\[0\]\.last is missing/);
    expect(() => C.pack([cValues(0), cValues(1)], new ArrayBuffer(100))).toThrow(/need 160 bytes/);
    // A reused buffer is cleared where shorter arrays leave words unwritten.
    const into = C.pack([cValues(3)]);
    C.pack([{ ...cValues(3), params: [9] }], into);
    expect(Array.from(new Float32Array(into, 20, 5))).toEqual([9, 0, 0, 0, 0]);
  });

  it('refuses names WGSL would reject and a second, different record of the same name', () => {
    expect(() => defineRecord('ProbeBad', [{ name: 'target', type: 'f32' }])).toThrow(/not a WGSL identifier/);
    expect(() => defineRecord('ProbeBad', [{ name: '__x', type: 'f32' }])).toThrow(/not a WGSL identifier/);
    expect(() => defineRecord('struct', [{ name: 'x', type: 'f32' }])).toThrow(/not a WGSL identifier/);
    expect(() => defineRecord('ProbeBad', [{ name: 'x', type: 'f32' }, { name: 'x', type: 'u32' }])).toThrow(/declared twice/);
    expect(() => defineRecord('ProbeA', [{ name: 'u', type: 'u32' }])).toThrow(/ProbeA is declared twice, differently/);
    expect(defineRecord('ProbeA', [{ name: 'u', type: 'f32' }, { name: 'v', type: 'f32' }, { name: 'w', type: 'vec2<f32>' }, { name: 'x', type: 'f32' }]).size).toBe(24);
  });
});

describe('shader declarations: bindings by name, generated text, directives', () => {
  it('numbers bindings by declaration order and expands //!struct, //!consts, //!bindings', async () => {
    expect(PROBE_SHADER.binding('bs')).toBe(0);
    expect(PROBE_SHADER.binding('out')).toBe(3);
    const code = await expandShaderText('layout_probe.wgsl', '//!struct ProbeB\n//!struct ProbeA\n//!consts\n//!bindings\n');
    expect(code.match(/struct ProbeA/g)).toHaveLength(1);
    expect(code).toContain('const PROBE_WORDS: u32 = 64u;');
    expect(code).toContain('@group(0) @binding(0) var<storage, read> bs: array<ProbeB>;');
    expect(code).toContain('@group(0) @binding(2) var<storage, read> one: ProbeC;');
    expect(code).toContain('@group(0) @binding(3) var<storage, read_write> out: array<u32>;');
    await expect(expandShaderText('layout_probe.wgsl', '//!struct NoSuchRecord')).rejects.toThrow(/no record NoSuchRecord is declared/);
    await expect(expandShaderText('undeclared.wgsl', '//!bindings')).rejects.toThrow(/undeclared.wgsl: no declaration of its bindings/);
    expect(() => defineShader({ file: 'bad.wgsl', bindings: { x: { type: 'array<f32>', access: 'read' } }, entries: { main: ['y' as 'x'] } })).toThrow(/no binding named y/);
  });
});

// The kernels write every field they read, as u32 bits, PROBE_WORDS words per record, and the
// buffer's record count as arrayLength (which divides the binding size by the compiler's stride).
const PROBE_WGSL = `
//!struct ProbeB
//!struct ProbeC
//!consts
//!bindings

fn fa(a: ProbeA, o: u32) -> u32 {
  out[o] = bitcast<u32>(a.u);
  out[o + 1u] = bitcast<u32>(a.v);
  out[o + 2u] = bitcast<u32>(a.w.x);
  out[o + 3u] = bitcast<u32>(a.w.y);
  out[o + 4u] = bitcast<u32>(a.x);
  return o + 5u;
}

@compute @workgroup_size(1)
fn probe_b(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i == 0u) { out[0] = arrayLength(&bs); }
  if (i >= arrayLength(&bs)) { return; }
  let r = bs[i];
  var o = 1u + i * PROBE_WORDS;
  out[o] = bitcast<u32>(r.a.x); out[o + 1u] = bitcast<u32>(r.a.y);
  out[o + 2u] = bitcast<u32>(r.b.x); out[o + 3u] = bitcast<u32>(r.b.y); out[o + 4u] = bitcast<u32>(r.b.z);
  out[o + 5u] = bitcast<u32>(r.c); out[o + 6u] = bitcast<u32>(r.d);
  o = fa(r.e, o + 7u);
  out[o] = bitcast<u32>(r.f.x); out[o + 1u] = bitcast<u32>(r.f.y); out[o + 2u] = bitcast<u32>(r.f.z);
  o = fa(r.g[0], o + 3u);
  o = fa(r.g[1], o);
  o = fa(r.g[2], o);
  out[o] = bitcast<u32>(r.h);
}

fn fc(r: ProbeC, o: u32) {
  out[o] = r.index; out[o + 1u] = r.key.x; out[o + 2u] = r.key.y; out[o + 3u] = r.flag;
  for (var k = 0u; k < 5u; k++) { out[o + 4u + k] = bitcast<u32>(r.params[k]); }
  out[o + 9u] = bitcast<u32>(r.q.x); out[o + 10u] = bitcast<u32>(r.q.y); out[o + 11u] = bitcast<u32>(r.q.z); out[o + 12u] = bitcast<u32>(r.q.w);
  out[o + 13u] = bitcast<u32>(r.last);
}

@compute @workgroup_size(1)
fn probe_c(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i == 0u) { out[0] = arrayLength(&cs); fc(one, 1u); }
  if (i >= arrayLength(&cs)) { return; }
  fc(cs[i], 1u + (i + 1u) * PROBE_WORDS);
}
`;

describe.skipIf(!hasGpu)('generated structs match the WGSL compiler (WebGPU)', () => {
  it('arrayLength of a packed buffer is the record count, and every field reads back', async () => {
    const ctx = gpu!;
    const device = ctx.device;
    const module = device.createShaderModule({ code: await expandShaderText('layout_probe.wgsl', PROBE_WGSL) });
    const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
    expect(errors.map((m) => m.message)).toEqual([]);
    const kernel = async <K extends 'probe_b' | 'probe_c'>(entry: K): Promise<Kernel<(typeof PROBE_SHADER.entries)[K][number]>> => ({
      pipeline: await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: entry } }),
      label: `layout_probe.wgsl#${entry}`,
      bindings: PROBE_SHADER.entries[entry].map((n) => [n, PROBE_SHADER.binding(n)] as const),
    });
    const bufs = { in: new GrowableBuffer(ctx, 'probe in'), one: new GrowableBuffer(ctx, 'probe one'), out: new GrowableBuffer(ctx, 'probe out') };
    try {
      // 5 records: a buffer of exactly 5 x 160 bytes (GrowableBuffer rounds to 16, a multiple of
      // B's size); a compiler stride other than 160 would change arrayLength or the fields.
      const n = 5;
      const vals = Array.from({ length: n }, (_, k) => bValues(k));
      const m = 7;
      const outWords = 1 + (Math.max(n, m) + 1) * 64;
      const kb: Kernel<'bs' | 'out'> = await kernel('probe_b');
      dispatchKernel(ctx, kb, { bs: bufs.in.write(B.pack(vals)), out: bufs.out.ensure(outWords * 4) }, [n, 1]);
      let got = new Uint32Array(await readBuffer(ctx, bufs.out.buffer!, outWords * 4));
      expect(got[0]).toBe(n);
      for (let k = 0; k < n; k++) {
        const want = bWords(vals[k]).map(bits);
        expect(Array.from(got.subarray(1 + k * 64, 1 + k * 64 + want.length))).toEqual(want);
      }

      // ProbeC (80 bytes): 7 records in a buffer of 560 bytes, plus a single-struct binding.
      const cv = Array.from({ length: m }, (_, k) => cValues(k));
      const kc: Kernel<'cs' | 'one' | 'out'> = await kernel('probe_c');
      const cBuf = device.createBuffer({ size: C.bytes(m), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
      device.queue.writeBuffer(cBuf, 0, C.pack(cv));
      dispatchKernel(ctx, kc, { cs: cBuf, one: bufs.one.write(C.packOne(cValues(99))), out: bufs.out.ensure(outWords * 4) }, [m, 1]);
      got = new Uint32Array(await readBuffer(ctx, bufs.out.buffer!, (1 + (m + 1) * 64) * 4));
      cBuf.destroy();
      expect(got[0]).toBe(m);
      expect(Array.from(got.subarray(1, 15))).toEqual(cWords(cValues(99)).map(bits));
      for (let k = 0; k < m; k++) {
        const want = cWords(cv[k]).map(bits);
        expect(Array.from(got.subarray(1 + (k + 1) * 64, 1 + (k + 1) * 64 + want.length))).toEqual(want);
      }
      // Binding by name: a missing or unknown name is an error before any GPU call.
      expect(() => dispatchKernel(ctx, kc, { cs: bufs.in.buffer!, out: bufs.out.buffer! } as never, [1, 1])).toThrow(/no buffer for binding one/);
      expect(() => dispatchKernel(ctx, kb, { bs: bufs.in.buffer!, out: bufs.out.buffer!, one: bufs.one.buffer! } as never, [1, 1])).toThrow(/binding one is not used by this entry point/);
    } finally {
      for (const b of Object.values(bufs)) b.destroy();
    }
  });
});
