/**
 * The surface-fit JSON (src/surface/fitJson.ts): fitSurface results round-trip through JSON text
 * into surfaces that evaluate exactly as the fitted ones (w, its derivatives, dw/dT, hence local
 * vol), for SVI, SSVI and eSSVI; a bare fit result and the minimal contract form load too; every
 * malformed field is a one-line error naming it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normalize } from '../../src/market/normalize.js';
import { localVariance } from '../../src/surface/dupire.js';
import { fitSurface } from '../../src/surface/fit.js';
import { loadSurfaceFit, parseSurfaceFit, surfaceFitJson, SurfaceFitJsonError } from '../../src/surface/fitJson.js';
import type { VolSurface } from '../../src/surface/surface.js';
import type { SurfaceModel } from '../../src/surface/types.js';

const read = (p: string) => readFileSync(new URL(`../../data/${p}`, import.meta.url), 'utf8');
const btc = normalize(read('deribit-btc-eth-snapshot-2026-01-05/deribit_options_snapshot_20260105T153329Z.csv'), { underlying: 'BTC' });

/** Same numbers at points before, at, between and after the expiries. */
function expectSameSurface(a: VolSurface, b: VolSurface): void {
  const Ts = a.expiries;
  const probe = [0.3 * Ts[0], Ts[0], 0.5 * (Ts[0] + Ts[1]), Ts[Ts.length - 1], 1.4 * Ts[Ts.length - 1]];
  for (const T of probe) {
    for (const k of [-0.8, -0.2, 0, 0.15, 0.6]) {
      expect(b.at(k, T)).toEqual(a.at(k, T));
    }
  }
}

const fits = Object.fromEntries((['svi', 'ssvi', 'essvi'] as const).map((m) => [m, fitSurface(btc.quotes, { model: m })])) as Record<SurfaceModel, ReturnType<typeof fitSurface>>;

describe('surface-fit JSON', () => {
  for (const model of ['svi', 'ssvi', 'essvi'] as const) {
    it(`${model}: surfaceFitJson(result) -> JSON text -> loadSurfaceFit evaluates exactly as the fitted surface`, () => {
      const { result, surface } = fits[model];
      const text = JSON.stringify(surfaceFitJson(result));
      const loaded = parseSurfaceFit(text);
      expect(loaded.model).toBe(model);
      expect(loaded.surface.kind).toBe(model);
      expect(loaded.surface.expiries).toEqual(surface.expiries);
      expectSameSurface(surface, loaded.surface);
      expect(loaded.slices).toEqual(result.slices.map((s) => ({ T: s.T, forward: s.forward })));
      // A superset of the result: every key of the result is there with its value (slice params
      // extended by the model's own parameters), plus the top-level params.
      const json = JSON.parse(text);
      for (const key of Object.keys(result)) if (key !== 'slices') expect(json[key]).toEqual(JSON.parse(JSON.stringify((result as unknown as Record<string, unknown>)[key])));
      json.slices.forEach((s: { params: Record<string, number> }, i: number) => expect(s.params).toMatchObject(result.slices[i].params));
      if (model === 'ssvi') expect(json.params).toEqual(result.global);
      if (model !== 'svi') expect(json.slices[0].params.theta).toBe(result.slices[0].ssvi!.theta);
      if (model === 'essvi') expect(json.slices[0].params.psi).toBe(result.slices[0].ssvi!.psi);
    });

    it(`${model}: a bare fitSurface result (object or its JSON) loads to the same surface`, () => {
      const { result, surface } = fits[model];
      expectSameSurface(surface, loadSurfaceFit(result).surface);
      expectSameSurface(surface, parseSurfaceFit(JSON.stringify(result)).surface);
    });
  }

  it('the minimal contract form: ssvi {theta} per slice with global rho, eta, gamma; essvi {theta, rho, psi|phi}; svi raw', () => {
    const ssvi = loadSurfaceFit({
      model: 'ssvi',
      params: { rho: -0.6, eta: 1, gamma: 0.4 },
      slices: [
        { T: 0.1, forward: 100, params: { theta: 0.0046 } },
        { T: 0.5, forward: 101, params: { theta: 0.0214 } },
      ],
      arbitrage: { free: true },
    });
    expect(ssvi.surface.at(0, 0.5).w).toBeCloseTo(0.0214, 15);
    expect(localVariance(ssvi.surface, -0.1, 0.3)).toBeGreaterThan(0);
    // Forward curve: ln F linear in T between slices, flat outside.
    expect(ssvi.forwardAt(0.05)).toBe(100);
    expect(ssvi.forwardAt(0.3)).toBeCloseTo(Math.sqrt(100 * 101), 12);
    expect(ssvi.forwardAt(2)).toBe(101);
    const withPsi = loadSurfaceFit({ model: 'essvi', params: {}, slices: [{ T: 0.25, forward: 1, params: { theta: 0.01, rho: -0.3, psi: 0.1 } }] });
    const withPhi = loadSurfaceFit({ model: 'essvi', params: {}, slices: [{ T: 0.25, forward: 1, params: { theta: 0.01, rho: -0.3, phi: 10 } }] });
    expect(withPhi.surface.at(0.2, 0.25)).toEqual(withPsi.surface.at(0.2, 0.25));
    const svi = loadSurfaceFit({ model: 'svi', slices: [{ T: 1, forward: 50, params: { a: 0.02, b: 0.1, rho: -0.4, m: 0.05, sigma: 0.2 } }] });
    expect(svi.surface.at(0.05, 1).w).toBeCloseTo(0.02 + 0.1 * 0.2, 15);
  });

  const good = () => ({
    model: 'ssvi',
    params: { rho: -0.6, eta: 1, gamma: 0.4 },
    slices: [
      { T: 0.1, forward: 100, params: { theta: 0.0046 } },
      { T: 0.5, forward: 101, params: { theta: 0.0214 } },
    ],
  });
  const cases: Array<[string, (j: ReturnType<typeof good> & Record<string, unknown>) => unknown, RegExp]> = [
    ['not an object', () => [], /must be a JSON object/],
    ['unknown model', (j) => ({ ...j, model: 'heston' }), /^model must be one of svi, ssvi, essvi \(got "heston"\)$/],
    ['no slices', (j) => ({ ...j, slices: [] }), /^slices must be a non-empty array/],
    ['slice not an object', (j) => ({ ...j, slices: [1] }), /^slices\[0\] must be an object/],
    ['T a string', (j) => ((j.slices[1] as Record<string, unknown>).T = '0.5', j), /^slices\[1\]\.T must be a positive number of years .* \(got "0\.5"\)$/],
    ['T not increasing', (j) => ((j.slices[1].T = 0.1), j), /^slices\[1\]\.T must be greater than slices\[0\]\.T = 0\.1/],
    ['forward missing', (j) => (delete (j.slices[0] as Partial<(typeof j.slices)[0]>).forward, j), /^slices\[0\]\.forward must be a positive number \(got nothing\)$/],
    ['params missing', (j) => (delete (j.slices[0] as Partial<(typeof j.slices)[0]>).params, j), /^slices\[0\]\.params must be an object/],
    ['theta null', (j) => (((j.slices[0].params as Record<string, unknown>).theta = null), j), /^slices\[0\]\.params\.theta must be a positive number \(got null\)$/],
    ['theta falls', (j) => ((j.slices[1].params.theta = 0.001), j), /^slices\[1\]\.params\.theta must not fall in T/],
    ['global rho out of range', (j) => ((j.params.rho = 1.5), j), /^params\.rho must be a number in \(-1, 1\) \(got 1\.5\)$/],
    ['global gamma missing', (j) => (delete (j.params as Partial<typeof j.params>).gamma, j), /^params\.gamma must be a number in \[0, 1\] \(got nothing\)$/],
    ['no global parameters', (j) => ({ ...j, params: {} }), /^params must hold the SSVI global parameters rho, eta, gamma/],
    ['svi sigma zero', () => ({ model: 'svi', slices: [{ T: 1, forward: 1, params: { a: 0.01, b: 0.1, rho: 0, m: 0, sigma: 0 } }] }), /^slices\[0\]\.params\.sigma must be a positive number \(got 0\)$/],
    ['essvi psi missing', () => ({ model: 'essvi', slices: [{ T: 1, forward: 1, params: { theta: 0.01, rho: 0 } }] }), /^slices\[0\]\.params\.psi must be a positive number/],
  ];
  for (const [name, mutate, re] of cases) {
    it(`bad JSON is one line naming the field: ${name}`, () => {
      let err: unknown;
      try {
        loadSurfaceFit(mutate(good() as ReturnType<typeof good> & Record<string, unknown>));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SurfaceFitJsonError);
      const msg = (err as Error).message;
      expect(msg).toMatch(re);
      expect(msg).not.toContain('\n');
    });
  }

  it('text that is not JSON is one line', () => {
    expect(() => parseSurfaceFit('{"model": ')).toThrow(/^not valid JSON \(/);
  });
});
