/**
 * bench/pricing: COS Heston options/s, CPU f64 and WebGPU f32, for 1,000 and 16,000 quotes and
 * 64 parameter sets x 1,000 quotes, against QuantLib's AnalyticHestonEngine and COSHestonEngine on
 * the same quotes in the same run (bench/quantlib/pricing.py times QuantLib inside Python).
 */
import { Bench } from 'tinybench';
import { selectBackend, silentLogger } from '../src/backends/backend.js';
import { createCosPricer } from '../src/engines/cos/pricer.js';
import type { QuoteSet } from '../src/engines/pricer.js';
import { heston } from '../src/models/heston.js';
import { quantlibAvailable, runQuantLib } from './lib/quantlib.js';
import { recordResults, type BenchRow } from './lib/results.js';

const S = 100, RATE = 0.02, DIV = 0;
const BASE = [0.04, 1.5, 0.06, 0.6, -0.7];

/** The REFERENCE.md surface: expiries 30-730 days, strikes +-2.5 sd, out-of-the-money side. */
function surface(m: number): { quotes: QuoteSet; days: number[] } {
  const nExp = Math.min(20, Math.max(5, Math.round(m / 100)));
  const days: number[] = [];
  const rows: Array<[number, number, boolean]> = [];
  const per = Math.ceil(m / nExp);
  for (let e = 0; e < nExp && rows.length < m; e++) {
    const d = Math.round(30 + (700 * e) / (nExp - 1));
    const T = d / 365;
    for (let j = 0; j < per && rows.length < m; j++) {
      const z = -2.5 + (5 * j) / (per - 1);
      rows.push([T, S * Math.exp((RATE - DIV) * T + z * 0.245 * Math.sqrt(T)), z >= 0]);
      days.push(d);
    }
  }
  const quotes: QuoteSet = {
    forward: Float64Array.from(rows, (r) => S * Math.exp((RATE - DIV) * r[0])),
    strike: Float64Array.from(rows, (r) => r[1]),
    T: Float64Array.from(rows, (r) => r[0]),
    isCall: Uint8Array.from(rows, (r) => (r[2] ? 1 : 0)),
    discount: Float64Array.from(rows, (r) => Math.exp(-RATE * r[0])),
  };
  return { quotes, days };
}

function paramSets(n: number): number[][] {
  // Deterministic small perturbations, like a finite-difference Jacobian or a population.
  return Array.from({ length: n }, (_, i) => BASE.map((v, j) => (j === 4 ? v + 0.002 * i : v * (1 + 0.01 * ((i + j) % 7)))));
}

export async function run(): Promise<void> {
  const hasQl = quantlibAvailable();
  const cpu = await selectBackend('cpu', silentLogger);
  const gpu = await selectBackend('auto', silentLogger);
  const rows: BenchRow[] = [];
  for (const [m, nSets] of [[1000, 1], [16000, 1], [1000, 64]] as const) {
    const { quotes, days } = surface(m);
    const sets = paramSets(nSets);
    const params = Float64Array.from(sets.flat());
    const ql = hasQl
      ? runQuantLib<Record<'analytic' | 'cos', { per_s: number; prices: number[] }>>('pricing.py', {
          spot: S, rate: RATE, div: DIV, sets, days, strike: Array.from(quotes.strike), isCall: Array.from(quotes.isCall),
        })
      : undefined;
    const label = nSets > 1 ? `${nSets} sets x ${m} quotes` : `${m} quotes`;
    for (const backend of gpu.name === 'webgpu' ? [cpu, gpu] : [cpu]) {
      const pricer = await createCosPricer(heston, quotes, backend);
      const first = await pricer.priceBatch(params, nSets); // warm-up: compiles pipelines once
      const bench = new Bench({ time: backend.name === 'cpu' ? 1500 : 3000, iterations: 3 });
      bench.add(label, async () => {
        await pricer.priceBatch(params, nSets);
      });
      await bench.run();
      const res = bench.tasks[0].result;
      if (!res || !('latency' in res)) throw new Error(`bench ${label} did not complete`);
      const perCall = res.latency.mean / 1000;
      const perS = (m * nSets) / perCall;
      let err = NaN;
      if (ql) err = Math.max(...ql.analytic.prices.map((p, i) => Math.abs(p - first.prices[i])));
      rows.push({
        name: `cos heston ${backend.name} ${label}`,
        volfit_per_s: perS,
        quantlib_per_s: ql?.analytic.per_s,
        ratio: ql ? perS / ql.analytic.per_s : undefined,
        quantlib_cos_per_s: ql?.cos.per_s,
        ratio_vs_ql_cos: ql ? perS / ql.cos.per_s : undefined,
        max_abs_err: err,
        gpu_bytes: pricer.gpuBytes(),
      });
      console.log(rows[rows.length - 1]);
      pricer.dispose();
    }
  }
  recordResults(rows, 'pricing (COS Heston)', [
    'Heston (0.04, 1.5, 0.06, 0.6, -0.7), S=100, r=0.02, expiries 30-730 days, strikes +-2.5 sd, OTM side (REFERENCE.md surface).',
    'QuantLib 1.29 via Python: AnalyticHestonEngine default (Gauss-Laguerre 144) = quantlib_per_s; COSHestonEngine defaults (L=16, N=200) = quantlib_cos_per_s; timed inside Python, same quotes, same run.',
    'max_abs_err: volfit vs QuantLib AnalyticHestonEngine on the first parameter set (S=100); the Gauss-Laguerre engine itself is accurate to ~1e-9 here, volfit CPU to ~1e-12 (test/engines/cos.cpu.test.ts).',
    'webgpu rows run on SwiftShader (Vulkan on the CPU): a correctness stand-in, not GPU speed; they include f64 set-up, upload and readback.',
  ]);
}
