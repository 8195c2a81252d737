/**
 * What the COS kernels (shaders/cos.wgsl) and the GPU-resident LM reduction (shaders/lm_normal.wgsl)
 * read, declared once: the records gpu.ts and gpuNormal.ts pack and the shaders include as WGSL
 * structs (`//!struct`), and each shader's bindings by name (`//!bindings`). See
 * src/backends/webgpu/README.md.
 */
import { WORKGROUP_SIZE } from '../../backends/webgpu/kernel.js';
import { arrayOf, defineRecord, defineShader } from '../../backends/webgpu/layout.js';

/** Parameters one COS plan holds (CosPlan.params); a model with more is refused (gpu.ts). */
export const MAX_PARAMS = 8;
/** Directions (parameters moved) one GPU-resident LM stencil may have (lm_normal.wgsl MAX_DIR). */
export const MAX_DIRECTIONS = 8;
/** Quotes each lm_normal invocation reduces (`override QPT`): a workgroup reduces WG x QPT quotes. */
export const LM_QUOTES_PER_THREAD = 4;

/**
 * One (parameter set, expiry) of cos.wgsl: the COS window [a, b] as w = pi/(b-a) and the phase
 * alpha = -a/(b-a) split into a 12-bit head and a tail (gpu.ts split12), the term count, the
 * control variate's normal N(c1, c2), the expiry and the model's parameters.
 */
export const CosPlanRecord = defineRecord('CosPlan', [
  { name: 'w', type: 'f32' },
  { name: 'terms', type: 'u32' },
  { name: 'c1', type: 'f32' },
  { name: 'c2', type: 'f32' },
  { name: 'alphaHi', type: 'f32' },
  { name: 'alphaLo', type: 'f32' },
  { name: 'T', type: 'f32' },
  { name: 'params', type: 'f32', count: MAX_PARAMS },
]);

/**
 * One quote of cos.wgsl: theta = (d - a)/(b - a) split like alpha, kappa = K/F, e^d with
 * d = min(ln kappa, b), e^a; `index` is the plan (cos_sum) or the expiry (cos_sum_resident and
 * lm_normal); `below` flags ln kappa <= a (the put is 0); `isCall` the option type.
 */
export const CosQuoteRecord = defineRecord('CosQuote', [
  { name: 'thetaHi', type: 'f32' },
  { name: 'thetaLo', type: 'f32' },
  { name: 'kappa', type: 'f32' },
  { name: 'expD', type: 'f32' },
  { name: 'expA', type: 'f32' },
  { name: 'index', type: 'u32' },
  { name: 'below', type: 'u32' },
  { name: 'isCall', type: 'u32' },
]);

/** Sizes of a cos.wgsl dispatch: plans, terms per plan in `coef` (stride), quote records, quotes (resident). */
export const CosDimsRecord = defineRecord('CosDims', [
  { name: 'plans', type: 'u32' },
  { name: 'stride', type: 'u32' },
  { name: 'records', type: 'u32' },
  { name: 'quotes', type: 'u32' },
]);

/** lm_normal.wgsl, per quote: kappa = K/F, ln kappa, residual scale c_i and market value y_i (forward units). */
export const LmQuoteRecord = defineRecord('LmQuote', [
  { name: 'kappa', type: 'f32' },
  { name: 'logKappa', type: 'f32' },
  { name: 'scale', type: 'f32' },
  { name: 'market', type: 'f32' },
]);

/** lm_normal.wgsl, per expiry: the base set's normal, shift = c1 + c2/2, sd = sqrt(c2), expm1(shift). */
export const LmNormalRecord = defineRecord('LmNormal', [
  { name: 'shift', type: 'f32' },
  { name: 'sd', type: 'f32' },
  { name: 'expm1Shift', type: 'f32' },
]);

/** lm_normal.wgsl sizes: quotes, expiries, workgroups, and 1/(2 h_j) (central) or 1/h_j per direction. */
export const LmInfoRecord = defineRecord('LmInfo', [
  { name: 'quotes', type: 'u32' },
  { name: 'expiries', type: 'u32' },
  { name: 'groups', type: 'u32' },
  { name: 'invStep', type: 'f32', count: MAX_DIRECTIONS },
]);

/**
 * One surface of a multi-surface stencil dispatch (gpuNormalMany.ts; cos.wgsl cos_sum_many and
 * lm_normal.wgsl lm_normal_many): where its quotes (and records) start in the concatenation, its
 * quote count, where its n x M block of COS differences starts, its first plan and expiry count
 * (plans planBase + s E + e), its first control variate (expiryBase + e), its first workgroup of
 * the reduction, its stencil's sets and directions, and its 1/(2 h_j) per direction.
 */
export const LmSegRecord = defineRecord('LmSeg', [
  { name: 'quoteBase', type: 'u32' },
  { name: 'quotes', type: 'u32' },
  { name: 'recordBase', type: 'u32' },
  { name: 'planBase', type: 'u32' },
  { name: 'expiries', type: 'u32' },
  { name: 'expiryBase', type: 'u32' },
  { name: 'groupBase', type: 'u32' },
  { name: 'sets', type: 'u32' },
  { name: 'dirs', type: 'u32' },
  { name: 'invStep', type: 'f32', count: MAX_DIRECTIONS },
]);

export const COS_SHADER = defineShader({
  file: 'cos.wgsl',
  bindings: {
    plans: { type: arrayOf(CosPlanRecord), access: 'read' },
    // Per (plan, term k): (A_k / (1 + u^2), A_k / u, A_k u / (1 + u^2), 0), u = k w; written by
    // cos_coef (coef), read by the sums (coefIn).
    coef: { type: 'array<vec4<f32>>', access: 'read_write' },
    dims: { type: CosDimsRecord, access: 'read' },
    recs: { type: arrayOf(CosQuoteRecord), access: 'read' },
    coefIn: { type: 'array<vec4<f32>>', access: 'read' },
    out: { type: 'array<f32>', access: 'read_write' },
    segs: { type: arrayOf(LmSegRecord), access: 'read' },
  },
  entries: {
    cos_coef: ['plans', 'coef', 'dims'],
    cos_sum: ['recs', 'coefIn', 'dims', 'out', 'plans'],
    cos_sum_resident: ['recs', 'coefIn', 'dims', 'out', 'plans'],
    cos_sum_many: ['recs', 'coefIn', 'dims', 'out', 'plans', 'segs'],
  },
  overrides: { WG: WORKGROUP_SIZE },
});

export const LM_SHADER = defineShader({
  file: 'lm_normal.wgsl',
  bindings: {
    diffs: { type: 'array<f32>', access: 'read' },
    quotes: { type: arrayOf(LmQuoteRecord), access: 'read' },
    recs: { type: arrayOf(CosQuoteRecord), access: 'read' },
    cv: { type: arrayOf(LmNormalRecord), access: 'read' },
    info: { type: LmInfoRecord, access: 'read' },
    partials: { type: 'array<f32>', access: 'read_write' },
    segs: { type: arrayOf(LmSegRecord), access: 'read' },
    // The surface (index into segs) of each workgroup.
    groupSeg: { type: 'array<u32>', access: 'read' },
  },
  entries: {
    lm_normal: ['diffs', 'quotes', 'recs', 'cv', 'info', 'partials'],
    lm_normal_many: ['diffs', 'quotes', 'recs', 'cv', 'info', 'partials', 'segs', 'groupSeg'],
  },
  overrides: { WG: WORKGROUP_SIZE, QPT: LM_QUOTES_PER_THREAD },
  // Sizes of per-thread arrays: WGSL needs them at compile time (an override cannot size them).
  consts: {
    MAX_DIR: MAX_DIRECTIONS,
    MAX_SETS: 2 * MAX_DIRECTIONS + 1,
    MAX_K: 3 + MAX_DIRECTIONS + (MAX_DIRECTIONS * (MAX_DIRECTIONS + 1)) / 2,
  },
});
