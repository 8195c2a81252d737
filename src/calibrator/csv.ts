/**
 * calibrateCsv: the canonical quote CSV straight to a fit, the library side of
 * `volfit calibrate`. Rows that fail to parse are excluded with the field and reason, next to
 * the quotes the calibrator itself excludes.
 */
import { parseCanonicalCsv, type ReadOptions } from '../market/canonical.js';
import { calibrate, type CalibrateOptions } from './calibrate.js';
import type { CalibrationResult } from './result.js';
import { CalibrationInputError } from './transforms.js';

export async function calibrateCsv(text: string, opts: CalibrateOptions & { read?: ReadOptions }): Promise<CalibrationResult> {
  const { quotes, errors } = parseCanonicalCsv(text, opts.read ?? {});
  const parseExcluded = errors.map((e) => ({ row: e.row, reason: `${e.field}: ${e.message}` }));
  if (quotes.length === 0) {
    if (errors.length === 0) throw new CalibrationInputError('no quotes to calibrate to (empty quote set)');
    const first = parseExcluded.slice(0, 3).map((e) => `row ${e.row}: ${e.reason}`).join('; ');
    throw new CalibrationInputError(`all ${errors.length} rows were excluded (${first}${errors.length > 3 ? '; ...' : ''})`);
  }
  const res = await calibrate(quotes, opts);
  res.quotes.excluded = [...parseExcluded, ...res.quotes.excluded].sort((a, b) => a.row - b.row);
  return res;
}
