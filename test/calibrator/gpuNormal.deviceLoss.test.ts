/**
 * Device loss between two GPU-resident LM reductions: the second finishes on the CPU through the
 * f64 twin (normalSums.ts), says so, and reports the cpu backend. Own file: it destroys the
 * process-wide device.
 */
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backends/backend.js';
import { Objective } from '../../src/calibrator/objective.js';
import { prepareQuotes } from '../../src/calibrator/quotes.js';
import { stencil } from '../../src/optim/stencil.js';
import { resolveBounds, toModel, toUnconstrained } from '../../src/calibrator/transforms.js';
import { groupByExpiry } from '../../src/engines/cos/expiries.js';
import { cosNormalSumsCpu } from '../../src/engines/cos/normalSums.js';
import { createCosPricer } from '../../src/engines/cos/pricer.js';
import { heston } from '../../src/models/heston.js';
import { hasGpu } from '../helpers/gpu.js';
import { rng, uniform } from '../helpers/random.js';
import { priceGrid, surfaceGrid } from './helpers.js';

describe.skipIf(!hasGpu)('GPU-resident LM reduction, device lost', () => {
  it('finishes on the CPU with the f64 twin and says so', async () => {
    const r = rng();
    const truth = Float64Array.from([uniform(r, 0.02, 0.2), uniform(r, 0.5, 3), uniform(r, 0.02, 0.2), uniform(r, 0.2, 1), uniform(r, -0.8, 0)]);
    const prep = prepareQuotes(await priceGrid(heston, truth, surfaceGrid({ expiries: 4, strikesPerExpiry: 7, atmVol: Math.sqrt(truth[0]) })));
    const logs: string[] = [];
    const backend = await selectBackend('webgpu', (m) => logs.push(m));
    if (backend.name !== 'webgpu') throw new Error('WebGPU expected');
    const pricer = await createCosPricer(heston, prep.set, backend, { log: (m) => logs.push(m) });
    const bounds = resolveBounds(heston);
    const obj = new Objective(heston, prep, pricer, bounds, { kind: 'iv', analyticJacobian: false });
    const st = stencil(toUnconstrained(Float64Array.from(truth, (v) => v * 1.1), bounds), 3e-3, 'central');
    const before = (await obj.normalEquations!(st))!;
    expect(obj.lastBackend).toBe('webgpu');
    backend.gpu.device.destroy();
    const after = (await obj.normalEquations!(st))!;
    expect(obj.lastBackend).toBe('cpu');
    expect(logs.join('\n')).toMatch(/LM normal equations.*CPU/);
    // The CPU result is the twin's, exactly.
    const params = new Float64Array(st.n * 5);
    for (let k = 0; k < st.n; k++) toModel(st.Z.subarray(k * 5, (k + 1) * 5), bounds, params.subarray(k * 5, (k + 1) * 5));
    const twin = cosNormalSumsCpu(heston, prep.set, obj.residualDefinition(), { params, n: st.n, step: st.h, scheme: 'central' }, undefined, groupByExpiry(prep.set));
    expect(after.f).toBe(twin.f);
    expect(Array.from(after.A!)).toEqual(Array.from(twin.A!));
    // And it is the same fit quantity as the GPU's, to the f32 floor (gpuNormal.test.ts).
    expect(Math.abs(after.f - before.f) / after.f).toBeLessThan(1e-2);
    pricer.dispose();
  });
});
