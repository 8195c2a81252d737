/** Messages between the page (main.ts) and the fit worker (worker.ts). */
import type { CalibrationResult } from '../../src/calibrator/result.js';

export type Tier = 'webgpu' | 'webgl2' | 'cpu';
export const TIERS: readonly Tier[] = ['webgpu', 'webgl2', 'cpu'];
export const MODELS = ['black', 'ssvi', 'heston', 'bates'] as const;
export type WebModel = (typeof MODELS)[number];

/** A normalized quote as the charts need it. */
export interface PlotQuote {
  row: number;
  expiry: string;
  T: number;
  strike: number;
  forward: number;
  iv: number;
  bidIv?: number;
  askIv?: number;
  weight: number;
}

export interface DataSummary {
  name: string;
  venue: string;
  asOf?: string;
  rowsIn: number;
  rowsOut: number;
  excluded: Array<{ row: number; reason: string; detail?: string }>;
  exclusionCounts: Record<string, number>;
  quotes: PlotQuote[];
}

export type ToWorker =
  | { type: 'init'; tier: Tier | 'auto' }
  | { type: 'load'; name: string; text: string; underlying: string }
  | { type: 'fit'; models: WebModel[] }
  | { type: 'report' };

export type FromWorker =
  | { type: 'tier'; tier: Tier; adapter: string; note?: string }
  | { type: 'tier-error'; message: string }
  | { type: 'data'; data: DataSummary }
  | { type: 'data-error'; message: string }
  | { type: 'start'; model: WebModel; command: string }
  | {
      type: 'progress';
      model: WebModel;
      stage: string;
      iteration: number;
      objective: number;
      seconds: number;
      params?: Record<string, number>;
      /** Model IVs of the quotes at `params` (f64 CPU), in DataSummary.quotes order. */
      modelIv?: Array<number | null>;
    }
  | { type: 'result'; model: WebModel; result: CalibrationResult }
  | { type: 'fit-error'; model: WebModel; message: string }
  | { type: 'done'; seconds: number }
  | { type: 'report'; html: string }
  | { type: 'report-error'; message: string };
