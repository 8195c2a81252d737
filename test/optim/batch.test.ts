import { describe, expect, it } from 'vitest';
import { rng, uniform } from '../helpers/random.js';
import { levenbergMarquardt, type LmOptions } from '../../src/optim/lm.js';
import { RequestBatcher, levenbergMarquardtMany, type BatchRequest } from '../../src/optim/batch.js';
import { normalEquations } from '../../src/optim/linalg.js';
import { sumSquares, type LeastSquaresProblem, type NormalEquationsResult } from '../../src/optim/problem.js';
import { stencilJacobian, type Stencil } from '../../src/optim/stencil.js';

/** y = a e^{-b t} + c on the problem's own grid (count and span differ per problem). */
interface ExpFit extends LeastSquaresProblem {
  reduce(st: Stencil): NormalEquationsResult;
  /** Set to make this problem's reductions fail (a bad surface). */
  broken?: boolean;
}

function expFit(truth: number[], m: number, span: number): ExpFit {
  const t = Array.from({ length: m }, (_, i) => (i * span) / (m - 1));
  const y = t.map((ti) => truth[0] * Math.exp(-truth[1] * ti) + truth[2] + 1e-3 * Math.sin(7 * ti));
  const res = (z: Float64Array) => Float64Array.from(t, (ti, i) => z[0] * Math.exp(-z[1] * ti) + z[2] - y[i]);
  const rows = (Z: Float64Array, n: number) => Array.from({ length: n }, (_, k) => res(Z.subarray(k * 3, (k + 1) * 3)));
  return {
    p: 3,
    size: m,
    async residuals(Z, n) {
      return { r: rows(Z, n) };
    },
    // The stencil reduced as a GPU would: only f, A, g leave.
    reduce(st) {
      const r = rows(st.Z, st.n);
      const f = sumSquares(r[0]);
      if (st.n === 1) return { f, A: null, g: null };
      const J = stencilJacobian(r, st.h, st.scheme, m);
      return J ? { f, ...normalEquations(J, r[0], m, 3) } : { f, A: null, g: null };
    },
  };
}

const OPTS: LmOptions = { fdScheme: 'central', fdStep: 1e-4, ftol: 1e-12, xtol: 1e-12, gtol: 1e-12 };

describe('levenbergMarquardtMany (S independent LM fits, one evaluation per step for all)', () => {
  it('equals S separate LM runs exactly; converged fits drop out; a failing fit fails alone', async () => {
    const r = rng();
    const S = 6;
    const problems = Array.from({ length: S }, (_, s) =>
      expFit([uniform(r, 1, 5), uniform(r, 0.2, 2), uniform(r, -1, 1)], 12 + 7 * s, 2 + s),
    );
    const starts = problems.map(() => Float64Array.from([uniform(r, 0.5, 2), uniform(r, 0.5, 1.5), 0]));
    problems[3].broken = true;

    const calls: number[] = [];
    const evaluateMany = async (reqs: ReadonlyArray<BatchRequest<ExpFit>>) => {
      calls.push(reqs.length);
      return reqs.map(({ member, stencil }) => (member.broken ? new Error('surface 4 cannot be priced') : member.reduce(stencil)));
    };
    const many = await levenbergMarquardtMany(problems, starts, evaluateMany, OPTS);

    for (let s = 0; s < S; s++) {
      const got = many[s];
      if (s === 3) {
        expect(got).toBeInstanceOf(Error);
        expect((got as Error).message).toBe('surface 4 cannot be priced');
        continue;
      }
      if (got instanceof Error) throw got;
      const lone = await levenbergMarquardt({ ...problems[s], normalEquations: async (st) => problems[s].reduce(st) }, starts[s], OPTS);
      expect(got.converged).toBe(true);
      expect(Array.from(got.z)).toEqual(Array.from(lone.z));
      expect(got.f).toBe(lone.f);
      expect(got.iterations).toBe(lone.iterations);
      expect(got.reason).toBe(lone.reason);
      expect(got.history).toEqual(lone.history);
    }
    // One call for all six at the start; the batch shrinks as fits converge (or fail).
    expect(calls[0]).toBe(S);
    expect(calls[calls.length - 1]).toBeLessThan(S);
    expect(Math.max(...calls)).toBe(S);
    for (let k = 1; k < calls.length; k++) expect(calls[k]).toBeLessThanOrEqual(calls[k - 1]);
  });

  it('RequestBatcher: waits for every member, or with settleTurns only for those not busy elsewhere; one call at a time', async () => {
    const calls: number[][] = [];
    let running = 0;
    let overlapped = false;
    const answer = async (qs: readonly number[]) => {
      calls.push([...qs]);
      overlapped ||= running > 0;
      running++;
      await new Promise((r) => setTimeout(r, 5));
      running--;
      return qs.map((q) => (q < 0 ? new Error(`bad ${q}`) : q * 10));
    };
    // settleTurns 0: nothing goes out until all three members ask.
    const strict = new RequestBatcher<number, number>(answer);
    const [a, b, c] = [strict.join(), strict.join(), strict.join()];
    const pa = a.request(1);
    const pb = b.request(-2);
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toEqual([]);
    const pc = c.request(3);
    expect(await pa).toBe(10);
    await expect(pb).rejects.toThrow('bad -2'); // fails alone
    expect(await pc).toBe(30);
    expect(calls).toEqual([[1, -2, 3]]);
    // A member that leaves is no longer waited for.
    c.leave();
    const [pa2, pb2] = [a.request(4), b.request(5)];
    expect([await pa2, await pb2]).toEqual([40, 50]);
    expect(calls[1]).toEqual([4, 5]);

    // settleTurns 2: a member busy elsewhere (never asking) does not hold the others up, and
    // requests made while a call runs wait for it, then go out together.
    const loose = new RequestBatcher<number, number>(answer, 2);
    const [x, y] = [loose.join(), loose.join()];
    loose.join(); // busy elsewhere
    const px = x.request(6);
    const py = y.request(7);
    expect([await px, await py]).toEqual([60, 70]);
    expect(calls[2]).toEqual([6, 7]);
    const first = x.request(8);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    const late = y.request(9); // while [8] is being answered
    expect([await first, await late]).toEqual([80, 90]);
    expect(calls.slice(3)).toEqual([[8], [9]]);
    expect(overlapped).toBe(false);
  });
});
