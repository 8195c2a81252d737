/**
 * The WebGPU quasi-explicit SVI grid (shaders/svi_grid.wgsl via src/surface/gpuGrid.ts) against
 * its f64 twin qe.ts evaluateGridBatch, on random slices and on the BTC snapshot's slices; and
 * recovery of known SVI parameters through fits whose grid stage ran on each backend.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gpu, hasGpu } from '../helpers/gpu.js';
import { rng, uniform } from '../helpers/random.js';
import { normalize } from '../../src/market/normalize.js';
import { calibrate } from '../../src/calibrator/calibrate.js';
import { getModel } from '../../src/models/index.js';
import { evaluateGridBatchGpu } from '../../src/surface/gpuGrid.js';
import { evaluateGridBatch, type GridResult } from '../../src/surface/qe.js';
import { prepareSlices, type SliceData } from '../../src/surface/slices.js';
import { fitSviSlices, sviGridProblem } from '../../src/surface/sviFit.js';
import { sviW, type SviRaw } from '../../src/surface/svi.js';
import { SVI_KS, SVI_TRUTHS } from './fixtures.js';

const r = rng();

function randomSvi(): SviRaw {
  return { a: uniform(r, 0.001, 0.05), b: uniform(r, 0.02, 0.6), rho: uniform(r, -0.9, 0.9), m: uniform(r, -0.3, 0.3), sigma: uniform(r, 0.02, 0.5) };
}

/** Slices of noisy SVI vols (1 vol point noise: the grid's minimum is not at zero). */
function randomSlices(count: number): SliceData[] {
  const quotes = [];
  for (let j = 0; j < count; j++) {
    const p = randomSvi();
    const T = Math.exp(uniform(r, Math.log(2 / 365), Math.log(2)));
    const n = 5 + Math.floor(r() * 40);
    for (let i = 0; i < n; i++) {
      const k = uniform(r, -0.8, 0.6) * Math.sqrt(Math.max(sviW(p, 0), 1e-3));
      const iv = Math.sqrt(Math.max(sviW(p, k), 1e-6) / T) + uniform(r, -0.01, 0.01);
      quotes.push({ row: quotes.length + 1, T, forward: 100, strike: 100 * Math.exp(k), isCall: k > 0, iv: Math.max(iv, 0.02), expiry: `e${j}`, weight: uniform(r, 0.2, 2) });
    }
  }
  return prepareSlices(quotes).slices;
}

/** Per slice: max |V_gpu - V_cpu| over its cells, relative to the slice's scale sum(weight W^2). */
function compare(slices: SliceData[], cpu: GridResult, gpuRes: GridResult, per: number) {
  const { batch } = sviGridProblem(slices);
  let worstV = 0, sameBest = 0;
  for (let s = 0; s < slices.length; s++) {
    let scale = 0;
    for (let q = batch.offsets[s]; q < batch.offsets[s + 1]; q++) scale += batch.weight[q] * batch.w[q] ** 2;
    let bc = 0, bg = 0;
    for (let c = s * per; c < (s + 1) * per; c++) {
      worstV = Math.max(worstV, Math.abs(gpuRes.f[c] - cpu.f[c]) / scale);
      if (cpu.f[c] < cpu.f[bc + s * per]) bc = c - s * per;
      if (gpuRes.f[c] < gpuRes.f[bg + s * per]) bg = c - s * per;
    }
    // The GPU's best cell is the twin's, or one the twin rates within 1e-4 of the scale of it.
    if (bc === bg || cpu.f[s * per + bg] - cpu.f[s * per + bc] <= 1e-4 * scale) sameBest++;
  }
  return { worstV, sameBest };
}

describe.skipIf(!hasGpu)('SVI grid kernel (WGSL f32) vs the f64 twin', () => {
  it('random noisy slices: V within 1e-5 of each slice scale; the best cell agrees', async () => {
    const slices = randomSlices(40);
    const { batch, grid } = sviGridProblem(slices);
    const cpu = evaluateGridBatch(batch, grid);
    const g = await evaluateGridBatchGpu(gpu!, batch, grid);
    const { worstV, sameBest } = compare(slices, cpu, g, grid.nm * grid.ns);
    console.info(`svi grid gpu vs twin: ${slices.length} slices, worst |dV| / scale ${worstV.toExponential(2)}, best cell agrees on ${sameBest}`);
    expect(worstV).toBeLessThan(1e-5);
    expect(sameBest).toBe(slices.length);
    // The best cells' (a, d, c) give the twin's smile at the quotes to 1e-4 of the slice's largest W.
    const per = grid.nm * grid.ns;
    let worstW = 0;
    for (let s = 0; s < slices.length; s++) {
      let bc = s * per;
      for (let c = s * per; c < (s + 1) * per; c++) if (cpu.f[c] < cpu.f[bc]) bc = c;
      const m = grid.m[s * grid.nm + Math.floor((bc - s * per) / grid.ns)], sigma = grid.sigma[s * grid.ns + ((bc - s * per) % grid.ns)];
      for (let q = batch.offsets[s]; q < batch.offsets[s + 1]; q++) {
        const y = (batch.k[q] - m) / sigma, z = Math.sqrt(y * y + 1);
        const wOf = (x: Float64Array) => x[3 * bc] + x[3 * bc + 1] * y + x[3 * bc + 2] * z;
        worstW = Math.max(worstW, Math.abs(wOf(g.adc) - wOf(cpu.adc)) / batch.aMax[s]);
      }
    }
    // The objective is flat along its valley: a V error e moves the minimiser by ~sqrt(e).
    console.info(`svi grid best cells: worst |dw| / aMax ${worstW.toExponential(2)}`);
    expect(worstW).toBeLessThan(1e-3);
  });

  it('a batch split over several dispatches (whole slices each) gives the one-dispatch values exactly', async () => {
    const slices = randomSlices(7);
    const { batch, grid } = sviGridProblem(slices);
    const one = await evaluateGridBatchGpu(gpu!, batch, grid);
    const per = grid.nm * grid.ns;
    // 2.5 slices' cells per dispatch -> 2 slices each, 4 dispatches.
    const split = await evaluateGridBatchGpu(gpu!, batch, grid, undefined, { maxCellsPerDispatch: Math.floor(2.5 * per) });
    expect(Array.from(split.f)).toEqual(Array.from(one.f));
    expect(Array.from(split.adc)).toEqual(Array.from(one.adc));
  });

  it('BTC 2026-01-05 slices: the same', async () => {
    const text = readFileSync(new URL('../../data/deribit-btc-eth-snapshot-2026-01-05/deribit_options_snapshot_20260105T153329Z.csv', import.meta.url), 'utf8');
    const slices = prepareSlices(normalize(text, { underlying: 'BTC' }).quotes).slices.filter((s) => s.k.length >= 5);
    const { batch, grid } = sviGridProblem(slices);
    const cpu = evaluateGridBatch(batch, grid);
    const g = await evaluateGridBatchGpu(gpu!, batch, grid);
    const { worstV, sameBest } = compare(slices, cpu, g, grid.nm * grid.ns);
    console.info(`svi grid gpu vs twin on BTC: worst |dV| / scale ${worstV.toExponential(2)}`);
    expect(worstV).toBeLessThan(1e-5);
    expect(sameBest).toBe(slices.length);
  });
});

describe.skipIf(!hasGpu)('SVI recovery with the grid stage on WebGPU', () => {
  const ks = SVI_KS;
  const truths: Array<[SviRaw, number]> = SVI_TRUTHS.map(([p, T]) => [p, T]);
  truths.sort((x, y) => x[1] - y[1]); // the slices' order
  const quotes = truths.flatMap(([p, T], j) =>
    ks.map((k, i) => ({ row: 100 * j + i + 1, T, forward: 100, strike: 100 * Math.exp(k), isCall: k > 0, iv: Math.sqrt(sviW(p, k) / T), expiry: `e${j}` })),
  );
  const slices = prepareSlices(quotes).slices;

  it('the kernel alone at the true (m, sigma): total variance to the f32 floor (1e-5 of max W)', async () => {
    const { batch } = sviGridProblem(slices);
    const grid = { nm: 1, ns: 1, m: Float64Array.from(truths, ([p]) => p.m), sigma: Float64Array.from(truths, ([p]) => p.sigma) };
    const g = await evaluateGridBatchGpu(gpu!, batch, grid);
    let worst = 0;
    truths.forEach(([p], s) => {
      // Only truths inside the QP's polytope (a + c - |d| >= 0, its linear form of min w >= 0;
      // the second one is not: the fit's f64 polish reaches it).
      if (p.a + p.b * p.sigma * (1 - Math.abs(p.rho)) < 0) return;
      const [a, d, c] = g.adc.subarray(3 * s, 3 * s + 3);
      for (const k of ks) {
        const y = (k - p.m) / p.sigma;
        worst = Math.max(worst, Math.abs(a + d * y + c * Math.sqrt(y * y + 1) - sviW(p, k)) / batch.aMax[s]);
      }
    });
    console.info(`svi kernel at the true (m, sigma): worst |dw| / max W ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-5);
  });

  it('a fit from the WebGPU grid recovers the parameters as the CPU one does (1e-8 in total variance)', async () => {
    const { batch, grid } = sviGridProblem(slices);
    const gridValues = await evaluateGridBatchGpu(gpu!, batch, grid);
    const fits = fitSviSlices(slices, { gridValues });
    truths.forEach(([p], s) => {
      for (const k of ks) expect(Math.abs(sviW(fits[s].params, k) - sviW(p, k))).toBeLessThan(1e-8 * Math.max(1, sviW(p, k)));
    });
    expect(() => fitSviSlices(slices, { gridValues: { f: gridValues.f.subarray(1), adc: gridValues.adc } })).toThrow(/gridValues has/);
  });
});

describe.skipIf(!hasGpu)('calibrate svi on WebGPU: errors', () => {
  it('unusable quotes are the same one-line input error as on the CPU, not a GPU failure', async () => {
    const quotes = [{ row: 1, T: 0.5, forward: 100, strike: 100, isCall: true, price: -1, weight: 1, discount: 1 }];
    const logs: string[] = [];
    const run = (backend: 'cpu' | 'webgpu') => calibrate(quotes, { model: getModel('svi'), backend, log: (m) => logs.push(m) });
    const cpuError = await run('cpu').catch((e: Error) => e.message);
    const gpuError = await run('webgpu').catch((e: Error) => e.message);
    expect(cpuError).toMatch(/no usable quote/);
    expect(gpuError).toBe(cpuError);
    expect(logs.filter((m) => /WebGPU failed/.test(m))).toEqual([]);
  });
});
