/**
 * bench/mc: Monte Carlo Heston path-steps per second, CPU f64 twin and WebGPU f32, against
 * QuantLib's MCEuropeanHestonEngine (same QE scheme with martingale correction, antithetic pairs)
 * in the same run. One path-step = one path advanced one time step (a pair counts as two paths).
 * volfit prices all strikes from one set of paths; QuantLib prices one option per simulation, so
 * the comparison uses one option (plus a 20-strike row for volfit alone).
 */
import { Bench } from 'tinybench';
import { selectBackend, silentLogger } from '../src/backends/backend.js';
import { createMcPricer } from '../src/engines/mc/pricer.js';
import { createLocalVolPricer } from '../src/engines/mc/localvol.js';
import { SsviSurface } from '../src/surface/surface.js';
import type { QuoteSet } from '../src/engines/pricer.js';
import { heston } from '../src/models/heston.js';
import { quantlibAvailable, runQuantLib } from './lib/quantlib.js';
import { recordResults, type BenchRow } from './lib/results.js';

const S = 100, RATE = 0.02, DAYS = 365;
const PARAMS = [0.04, 1.5, 0.06, 0.6, -0.7];
const STEPS = 100;

function quotes(strikes: number[]): QuoteSet {
  const T = DAYS / 365;
  const F = S * Math.exp(RATE * T);
  return {
    forward: Float64Array.from(strikes, () => F),
    strike: Float64Array.from(strikes),
    T: Float64Array.from(strikes, () => T),
    isCall: Uint8Array.from(strikes, () => 1),
    discount: Float64Array.from(strikes, () => Math.exp(-RATE * T)),
  };
}

export async function run(): Promise<void> {
  const hasQl = quantlibAvailable();
  const ql = hasQl
    ? runQuantLib<{ path_steps_per_s: number; price: number; error_estimate: number; paths: number }>('mc.py', {
        spot: S, rate: RATE, div: 0, params: PARAMS, days: DAYS, strike: 100, samples: 4000, steps: STEPS, seed: 42,
      })
    : undefined;
  if (ql) console.log('QuantLib', ql);
  const cpu = await selectBackend('cpu', silentLogger);
  const auto = await selectBackend('auto', silentLogger);
  const rows: BenchRow[] = [];
  const params = Float64Array.from(PARAMS);
  for (const backend of auto.name === 'webgpu' ? [cpu, auto] : [cpu]) {
    for (const strikes of [[100], Array.from({ length: 20 }, (_, i) => 70 + 3 * i)]) {
      const paths = 20_000;
      const pricer = createMcPricer(heston, quotes(strikes), backend, { paths, steps: STEPS, seed: 42 });
      const first = await pricer.priceBatch(params, 1); // warm-up: compiles pipelines once
      const bench = new Bench({ time: 1000, iterations: 2 });
      bench.add('mc', async () => {
        await pricer.priceBatch(params, 1);
      });
      await bench.run();
      const res = bench.tasks[0].result;
      if (res?.state !== 'completed') throw new Error(`bench task did not complete (${res?.state})`);
      const perCall = res.latency.mean / 1000;
      const pathSteps = 2 * pricer.plan.units * pricer.plan.nSteps;
      const perS = pathSteps / perCall;
      const row: BenchRow = {
        name: `mc heston ${backend.name} ${strikes.length} strike${strikes.length > 1 ? 's' : ''}`,
        volfit_per_s: perS,
        quantlib_per_s: strikes.length === 1 ? ql?.path_steps_per_s : undefined,
        ratio: strikes.length === 1 && ql ? perS / ql.path_steps_per_s : undefined,
        // MC vs MC: the difference over the combined standard error, not a relative error.
        z_vs_quantlib: strikes.length === 1 && ql ? (first.prices[0] - ql.price) / Math.hypot(first.stderr![0], ql.error_estimate) : undefined,
        stderr: first.stderr![0],
        paths,
        steps: STEPS,
        gpu_bytes: pricer.gpuBytes(),
      };
      rows.push(row);
      console.log(row);
      pricer.dispose();
    }
  }
  // Local vol (SSVI surface of test/surface/dupire.test.ts), T = 1, log-Euler with Richardson:
  // path-steps counted on the fine grid (the coarse path adds half a step's work).
  const ssvi = new SsviSurface([0.1, 0.25, 0.5, 1, 2], [0.0046, 0.011, 0.0214, 0.042, 0.0828], -0.6, 1.0, 0.4);
  for (const backend of auto.name === 'webgpu' ? [cpu, auto] : [cpu]) {
    const strikes = Array.from({ length: 20 }, (_, i) => 70 + 3 * i);
    const paths = 20_000;
    const t0 = performance.now();
    const pricer = createLocalVolPricer(ssvi, quotes(strikes), backend, { paths, steps: STEPS, seed: 42 });
    const tableSeconds = (performance.now() - t0) / 1000;
    const first = await pricer.price();
    const bench = new Bench({ time: 1000, iterations: 2 });
    bench.add('mc localvol', async () => {
      await pricer.price();
    });
    await bench.run();
    const res = bench.tasks[0].result;
    if (res?.state !== 'completed') throw new Error(`bench task did not complete (${res?.state})`);
    const perS = (2 * pricer.plan.units * pricer.plan.nSteps) / (res.latency.mean / 1000);
    const row: BenchRow = {
      name: `mc localvol ${backend.name} 20 strikes`,
      volfit_per_s: perS,
      stderr: first.stderr[10],
      paths,
      steps: pricer.plan.nSteps,
      table_seconds: tableSeconds,
      gpu_bytes: pricer.gpuBytes(),
    };
    rows.push(row);
    console.log(row);
    pricer.dispose();
  }
  recordResults(rows, 'mc (Monte Carlo Heston, local vol)', [
    'Heston (0.04, 1.5, 0.06, 0.6, -0.7), S=100, r=0.02, T=1, 100 steps, antithetic; volfit_per_s and quantlib_per_s are path-steps per second.',
    'QuantLib 1.29 MCEuropeanHestonEngine (pseudorandom, QE with martingale correction, antithetic, 8,000 paths), timed inside Python around NPV(); one option per simulation.',
    'volfit adds two control variates (the Black-Scholes payoff on the same Brownian path, and the forward itself) and prices every strike from the same paths (the 20-strike rows); stderr is volfit\'s error of the first strike; z_vs_quantlib = price difference / combined standard error.',
    'webgpu rows run on SwiftShader (Vulkan on the CPU): a correctness stand-in, not GPU speed; they include f64 table set-up, upload and readback.',
    'mc localvol: SSVI surface (rho -0.6, eta 1, gamma 0.4), T=1, 20 strikes, log-Euler + Richardson (coarse path on every other node), path-steps on the fine grid; table_seconds = the f64 Dupire table (once per surface and grid). No QuantLib row (its local-vol MC needs a LocalVolSurface set up from a Black variance surface; not done).',
  ]);
}
