/**
 * The surface-fit JSON: what `volfit calibrate --model svi|ssvi|essvi` writes and what
 * `volfit localvol --surface` and `volfit price --model localvol --surface` read.
 *
 *   {"model": "svi" | "ssvi" | "essvi",
 *    "params": {"rho", "eta", "gamma"}                      // ssvi: the global power law; {} otherwise
 *    "slices": [{"T": years, "forward": F, "params": {...}}, ...]   // strictly increasing T
 *    "arbitrage": {...}}                                    // the fit's report, carried along
 *
 * Slice `params`: svi {"a", "b", "rho", "m", "sigma"} (raw SVI); ssvi {"theta"}; essvi {"theta",
 * "rho", "psi"} (psi = theta phi; "phi" is accepted instead of "psi"). eSSVI needs psi per slice:
 * rho and theta alone do not determine a slice.
 *
 * It is a superset of `fitSurface(...).result` (src/surface/fit.ts): `surfaceFitJson(result)`
 * writes the result with the top-level `params` added and each slice's raw SVI `params` extended
 * by the model's own slice parameters (theta for ssvi; theta, psi for essvi: SSVI's rho is the
 * raw SVI rho, so the keys never disagree). The loader reads that, a bare `result` (where the
 * SSVI-family parameters sit in `global` and each slice's `ssvi`), or the minimal form above;
 * extra keys (expiry, quotes, rmse_iv, residuals, ...) are ignored. The surface it builds
 * evaluates exactly as the fitted one (same classes, same numbers: JSON round-trips doubles).
 *
 * Errors: `SurfaceFitJsonError`, one line naming the field (`slices[2].params.theta must be a
 * positive number (got "abc")`).
 */
import { EssviSurface, SsviSurface, SviSurface, type VolSurface } from './surface.js';
import type { SurfaceFitResult, SurfaceModel } from './types.js';

export class SurfaceFitJsonError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(field ? `${field} ${message}` : message);
    this.name = 'SurfaceFitJsonError';
  }
}

export interface SurfaceFitJsonSlice {
  T: number;
  forward: number;
  params: Record<string, number>;
  [extra: string]: unknown;
}

export interface SurfaceFitJson {
  model: SurfaceModel;
  params: Record<string, number>;
  slices: SurfaceFitJsonSlice[];
  arbitrage?: unknown;
  [extra: string]: unknown;
}

/** A loaded fit: the evaluable surface and the forward curve of its slices. */
export interface LoadedSurfaceFit {
  model: SurfaceModel;
  surface: VolSurface;
  /** Slice expiries and forwards, increasing T. */
  slices: Array<{ T: number; forward: number }>;
  /** The fit's arbitrage report when the JSON carries one (informational: Dupire checks itself). */
  arbitrage?: unknown;
  /**
   * Forward at T from the slices: ln F linear in T between fitted expiries, flat before the
   * first and after the last.
   */
  forwardAt(T: number): number;
}

const MODELS: readonly SurfaceModel[] = ['svi', 'ssvi', 'essvi'];

/** The JSON `volfit calibrate --model svi|ssvi|essvi` writes for a fit result (a superset of it). */
export function surfaceFitJson(result: SurfaceFitResult): SurfaceFitJson {
  const slices = result.slices.map((s) => {
    const params: Record<string, number> = { ...s.params };
    if (result.model === 'ssvi' && s.ssvi) params.theta = s.ssvi.theta;
    if (result.model === 'essvi' && s.ssvi) {
      params.theta = s.ssvi.theta;
      params.psi = s.ssvi.psi;
    }
    return { ...s, params };
  });
  return { ...result, params: { ...(result.global ?? {}) }, slices };
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function num(o: Obj, key: string, field: string, check: (x: number) => boolean, what: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) throw new SurfaceFitJsonError(`${field}.${key}`, `must be ${what} (got ${show(v)})`);
  return v;
}

const any = () => true;
const positive = (x: number) => x > 0;
const corr = (x: number) => Math.abs(x) < 1;

/** The global SSVI parameters: top-level `params`, else a fitSurface result's `global`. */
function globalParams(j: Obj): { o: Obj; field: string } {
  if (isObj(j.params) && Object.keys(j.params).length > 0) return { o: j.params, field: 'params' };
  if (isObj(j.global)) return { o: j.global, field: 'global' };
  if (j.params !== undefined && !isObj(j.params)) throw new SurfaceFitJsonError('params', `must be an object (got ${show(j.params)})`);
  throw new SurfaceFitJsonError('params', 'must hold the SSVI global parameters rho, eta, gamma (got nothing)');
}

/** A slice's model parameter from `params`, else from a fitSurface result's `ssvi` block. */
function sliceParam(s: Obj, i: number, key: string, check: (x: number) => boolean, what: string): number {
  const p = s.params as Obj;
  if (p[key] === undefined && isObj(s.ssvi) && s.ssvi[key] !== undefined) return num(s.ssvi, key, `slices[${i}].ssvi`, check, what);
  return num(p, key, `slices[${i}].params`, check, what);
}

/**
 * Builds the surface of a surface-fit JSON (parsed), or of a `fitSurface` result directly.
 * Throws SurfaceFitJsonError naming the first bad field.
 */
export function loadSurfaceFit(json: unknown): LoadedSurfaceFit {
  if (!isObj(json)) throw new SurfaceFitJsonError('', `a surface fit must be a JSON object (got ${show(json)})`);
  const model = json.model;
  if (typeof model !== 'string' || !(MODELS as readonly string[]).includes(model)) {
    throw new SurfaceFitJsonError('model', `must be one of ${MODELS.join(', ')} (got ${show(model)})`);
  }
  const m = model as SurfaceModel;
  if (!Array.isArray(json.slices) || json.slices.length === 0) throw new SurfaceFitJsonError('slices', `must be a non-empty array (got ${show(json.slices)})`);
  const raw = json.slices as unknown[];
  const slices = raw.map((s, i) => {
    if (!isObj(s)) throw new SurfaceFitJsonError(`slices[${i}]`, `must be an object (got ${show(s)})`);
    const T = num(s, 'T', `slices[${i}]`, (x) => x > 0 && x <= 100, 'a positive number of years (at most 100)');
    const forward = num(s, 'forward', `slices[${i}]`, positive, 'a positive number');
    if (!isObj(s.params)) throw new SurfaceFitJsonError(`slices[${i}].params`, `must be an object (got ${show(s.params)})`);
    if (i > 0) {
      const prev = (raw[i - 1] as Obj).T as number;
      if (!(T > prev)) throw new SurfaceFitJsonError(`slices[${i}].T`, `must be greater than slices[${i - 1}].T = ${prev} (slices in strictly increasing T; got ${T})`);
    }
    return { s, T, forward };
  });
  let surface: VolSurface;
  try {
    if (m === 'svi') {
      surface = new SviSurface(
        slices.map(({ s, T }, i) => {
          const f = `slices[${i}].params`;
          const p = s.params as Obj;
          const params = {
            a: num(p, 'a', f, any, 'a finite number'),
            b: num(p, 'b', f, (x) => x >= 0, 'a number >= 0'),
            rho: num(p, 'rho', f, corr, 'a number in (-1, 1)'),
            m: num(p, 'm', f, any, 'a finite number'),
            sigma: num(p, 'sigma', f, positive, 'a positive number'),
          };
          return { T, params };
        }),
      );
    } else if (m === 'ssvi') {
      const g = globalParams(json);
      const rho = num(g.o, 'rho', g.field, corr, 'a number in (-1, 1)');
      const eta = num(g.o, 'eta', g.field, positive, 'a positive number');
      const gamma = num(g.o, 'gamma', g.field, (x) => x >= 0 && x <= 1, 'a number in [0, 1]');
      const theta = slices.map(({ s }, i) => sliceParam(s, i, 'theta', positive, 'a positive number'));
      theta.forEach((t, i) => {
        if (i > 0 && t < theta[i - 1]) {
          throw new SurfaceFitJsonError(`slices[${i}].params.theta`, `must not fall in T (${t} < slices[${i - 1}]'s ${theta[i - 1]}: calendar arbitrage)`);
        }
      });
      surface = new SsviSurface(
        slices.map((x) => x.T),
        theta,
        rho,
        eta,
        gamma,
      );
    } else {
      const rows = slices.map(({ s, T }, i) => {
        const theta = sliceParam(s, i, 'theta', positive, 'a positive number');
        const rho = sliceParam(s, i, 'rho', corr, 'a number in (-1, 1)');
        const p = s.params as Obj;
        const psi =
          p.psi === undefined && p.phi !== undefined
            ? theta * num(p, 'phi', `slices[${i}].params`, positive, 'a positive number')
            : sliceParam(s, i, 'psi', positive, 'a positive number (psi = theta phi)');
        return { T, theta, rho, psi };
      });
      rows.forEach((r, i) => {
        if (i > 0 && r.theta < rows[i - 1].theta) {
          throw new SurfaceFitJsonError(`slices[${i}].params.theta`, `must not fall in T (${r.theta} < slices[${i - 1}]'s ${rows[i - 1].theta}: calendar arbitrage)`);
        }
      });
      surface = new EssviSurface(rows);
    }
  } catch (e) {
    if (e instanceof RangeError) throw new SurfaceFitJsonError('slices', e.message);
    throw e;
  }
  const Ts = slices.map((x) => x.T);
  const Fs = slices.map((x) => x.forward);
  const lnF = Fs.map(Math.log);
  const forwardAt = (T: number): number => {
    const n = Ts.length;
    if (T <= Ts[0]) return Fs[0];
    if (T >= Ts[n - 1]) return Fs[n - 1];
    let i = 0;
    while (T > Ts[i + 1]) i++;
    if (T === Ts[i + 1]) return Fs[i + 1];
    const l = (T - Ts[i]) / (Ts[i + 1] - Ts[i]);
    return Math.exp((1 - l) * lnF[i] + l * lnF[i + 1]);
  };
  return {
    model: m,
    surface,
    slices: slices.map(({ T, forward }) => ({ T, forward })),
    ...(json.arbitrage !== undefined ? { arbitrage: json.arbitrage } : {}),
    forwardAt,
  };
}

/** Parses and loads a surface-fit JSON text (a file's contents). */
export function parseSurfaceFit(text: string): LoadedSurfaceFit {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SurfaceFitJsonError('', `not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  return loadSurfaceFit(json);
}
