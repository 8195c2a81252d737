/**
 * The full HTML report of the page's fits: the CLI's report builder (src/report) in the worker,
 * loaded only when asked for (Observable Plot and linkedom are most of its weight).
 */
import type { CalibrationResult } from '../../src/calibrator/result.js';
import type { NormalizeResult } from '../../src/market/normalize.js';
import { buildReport } from '../../src/report/build.js';
import { renderReportHtml } from '../../src/report/html.js';

export async function reportHtml(norm: NormalizeResult, fits: CalibrationResult[], name: string): Promise<string> {
  const data = await buildReport(norm.quotes, fits, {
    title: `volfit calibration report: ${fits.map((f) => f.model).join(', ')} on ${name}`,
    dataSource: `${name}, normalized in the browser (venue ${norm.venue}${norm.asOf ? `, as of ${norm.asOf}` : ''})`,
    exclusions: norm.excluded.map((e) => ({ row: e.row, reason: e.reason, stage: 'normalize' })),
    rowsIn: norm.rowsIn,
  });
  return renderReportHtml(data);
}
