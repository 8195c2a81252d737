/**
 * Real fits of the bundled Deribit BTC snapshot of 2026-01-05 (09:25 UTC) for the publish tests:
 * normalized, written as the canonical CSV and calibrated, exactly the path of `volfit normalize`
 * then `volfit calibrate --json` (in-process here; the CLI tests run the real commands).
 */
import { readFileSync } from 'node:fs';
import { calibrateCsv } from '../../src/calibrator/csv.js';
import type { CalibrationResult } from '../../src/calibrator/result.js';
import { writeCanonicalCsv } from '../../src/market/canonical.js';
import { normalize } from '../../src/market/normalize.js';
import { getModel } from '../../src/models/index.js';

export const BTC_FILE = 'data/deribit-btc-daily/BTC_2026-01-05.csv';
/** The snapshot's quote time (every row has it). */
export const BTC_TIME = '2026-01-05T09:25:11.513Z';
export const BTC_TIME_MS = Date.parse(BTC_TIME);

let csv: string | undefined;

/** The canonical quote CSV of the snapshot (what `volfit normalize --underlying BTC` writes). */
export function btcCanonicalCsv(): string {
  csv ??= writeCanonicalCsv(normalize(readFileSync(BTC_FILE, 'utf8'), { underlying: 'BTC' }).quotes);
  return csv;
}

/** calibrate's JSON of a slice model on the snapshot (arbitrageFree: the --no-arbitrage flag). */
export async function btcFit(model: 'svi' | 'ssvi' | 'essvi', arbitrageFree?: boolean): Promise<CalibrationResult> {
  const fit = await calibrateCsv(btcCanonicalCsv(), { model: getModel(model), ...(arbitrageFree !== undefined ? { slices: { arbitrageFree } } : {}) });
  return JSON.parse(JSON.stringify(fit)) as CalibrationResult;
}
