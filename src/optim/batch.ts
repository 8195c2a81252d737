/**
 * Batched normal equations: S independent least-squares fits whose stencil reductions
 * (`normalEquations`) are answered together, one call for every fit that is waiting.
 *
 * Each fit keeps its own LM state (levenbergMarquardt, unchanged: damping, acceptance,
 * convergence); what is shared is only the evaluation. A member's `normalEquations(st)` is a
 * request; the batcher answers all pending requests with ONE `evaluateMany` call as soon as every
 * active member is waiting (a fit stepping in lock-step with the others), or, with `settleTurns`,
 * once that many event-loop turns pass without a new request (members busy elsewhere, e.g. a
 * calibration in its DE or polish stage, do not hold the others up). One call at a time: requests
 * made while a call runs wait for it (the evaluator's buffers are reused, and the members it
 * answers then join them in the next call). A member that finishes
 * leaves (`leave`), so converged fits drop out of the batch. An error of `evaluateMany` rejects
 * the requests of that call only; an entry that is an Error rejects its own request only, so one
 * failing fit never stops the others.
 *
 * Since LM's arithmetic per fit is the same code as a lone run and each fit's answer depends on
 * its own request only, a batched run equals S separate runs exactly (test/optim/batch.test.ts).
 */
import { levenbergMarquardt, type LmOptions, type LmResult } from './lm.js';
import type { LeastSquaresProblem, NormalEquationsResult } from './problem.js';
import type { Stencil } from './stencil.js';

/** The next event-loop turn (setImmediate in Node, a zero timeout in a page). */
function nextTurn(f: () => void): void {
  const immediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
  if (immediate) immediate(f);
  else setTimeout(f, 0);
}

export interface BatchRequest<T> {
  /** What the member joined with (its problem, its GPU state, ...). */
  member: T;
  stencil: Stencil;
}

/** Answers one batch, entry for entry; an entry may be null (not available: full path) or an Error (that request fails). */
export type EvaluateMany<T> = (requests: ReadonlyArray<BatchRequest<T>>) => Promise<ReadonlyArray<NormalEquationsResult | null | Error>>;

/** A member of a RequestBatcher: its requests, and leaving (it asks no more). */
export interface BatchMember<Q, A> {
  request(q: Q): Promise<A>;
  leave(): void;
}

interface Pending<Q, A> {
  q: Q;
  resolve(v: A): void;
  reject(e: unknown): void;
}

/** The batching itself, for any request and answer (the module comment's rules). */
export class RequestBatcher<Q, A> {
  private active = 0;
  private pending: Array<Pending<Q, A>> = [];
  private idleTurns = 0;
  private ticking = false;
  private inFlight = false;
  /** Batches answered and the requests in each (tests, benchmarks). */
  readonly batches: number[] = [];

  constructor(
    private readonly evaluateMany: (qs: readonly Q[]) => Promise<ReadonlyArray<A | Error>>,
    /** Flush after this many event-loop turns without a new request even if some members are not waiting; 0: only when all are. */
    private readonly settleTurns = 0,
  ) {}

  join(): BatchMember<Q, A> {
    this.active++;
    let left = false;
    return {
      request: (q) =>
        new Promise((resolve, reject) => {
          this.pending.push({ q, resolve, reject });
          this.idleTurns = 0;
          this.maybeFlush();
        }),
      leave: () => {
        if (left) return;
        left = true;
        this.active--;
        this.maybeFlush();
      },
    };
  }

  private maybeFlush(): void {
    if (this.pending.length === 0 || this.inFlight) return;
    if (this.pending.length >= this.active) {
      void this.flush();
      return;
    }
    if (this.settleTurns > 0 && !this.ticking) {
      this.ticking = true;
      nextTurn(() => this.tick());
    }
  }

  private tick(): void {
    this.ticking = false;
    if (this.pending.length === 0 || this.inFlight) return;
    if (++this.idleTurns >= this.settleTurns) {
      void this.flush();
      return;
    }
    this.ticking = true;
    nextTurn(() => this.tick());
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.idleTurns = 0;
    this.batches.push(batch.length);
    this.inFlight = true;
    let answers: ReadonlyArray<A | Error> | undefined;
    let error: unknown;
    try {
      answers = await this.evaluateMany(batch.map((p) => p.q));
    } catch (e) {
      error = e;
    }
    this.inFlight = false;
    batch.forEach((p, k) => {
      const a = answers?.[k];
      if (!answers) p.reject(error);
      else if (a instanceof Error) p.reject(a);
      else p.resolve(a as A);
    });
    // Requests that came while this call ran: with the members just answered, once they ask again
    // (or, with settleTurns, once the event loop settles).
    this.maybeFlush();
  }
}

/**
 * S independent LM fits stepping together: problem s from z0s[s], its stencils reduced by
 * `evaluateMany` with those of every other fit waiting at the same time. Returns each fit's
 * LmResult, or the Error that stopped it (the others go on).
 */
export async function levenbergMarquardtMany<P extends LeastSquaresProblem>(
  problems: readonly P[],
  z0s: readonly Float64Array[],
  evaluateMany: EvaluateMany<P>,
  opts: LmOptions | ((s: number) => LmOptions) = {},
): Promise<Array<LmResult | Error>> {
  const batcher = new RequestBatcher<BatchRequest<P>, NormalEquationsResult | null>(evaluateMany);
  const members = problems.map(() => batcher.join());
  return Promise.all(
    problems.map(async (problem, s) => {
      const batched: LeastSquaresProblem = {
        p: problem.p,
        size: problem.size,
        residuals: (Z, n) => problem.residuals(Z, n),
        normalEquations: (stencil) => members[s].request({ member: problem, stencil }),
      };
      try {
        return await levenbergMarquardt(batched, z0s[s], typeof opts === 'function' ? opts(s) : opts);
      } catch (e) {
        return e instanceof Error ? e : new Error(String(e));
      } finally {
        members[s].leave();
      }
    }),
  );
}
