/**
 * Quotes + fits -> everything the page shows (ReportData): market points, model smiles, Greeks
 * and their bootstrap stability, exclusions and expiry table. Pricing is CPU f64 (pricing.ts).
 */
import { join, resolve } from 'node:path';
import { modelCurves } from './curves.js';
import type { FitResult } from './fit.js';
import { greekGrid, greekWarnings, modelGreeks } from './greeks.js';
import { atmVols, renderReportHtml } from './html.js';
import { pricerFor } from './pricing.js';
import { bootstrapStability, type BootstrapOptions, type Refit } from './stability.js';
import { expiryTable, marketPoints } from './surface.js';
import { getModel, models } from '../models/index.js';
import { isSliceModel } from '../models/types.js';
import { makeDirs, writeFileAtomic } from '../util/files.js';
import { paramVector } from '../models/types.js';
import type { ConstraintCheck, GreeksSection, ModelCurve, ReportData, ReportExclusion, ReportQuote, SurfaceSection } from './types.js';
import { surfaceSection } from './volSurface.js';

function isSliceModelName(name: string): boolean {
  const key = name.toLowerCase();
  return Object.hasOwn(models, key) && isSliceModel(models[key]);
}

/** The model's constraints at the fitted parameters (none for models volfit does not know). */
function constraintChecks(fit: FitResult): ConstraintCheck[] {
  try {
    const m = getModel(fit.model);
    const p = paramVector(m, fit.params);
    return m.constraints.map((c) => ({ model: fit.model, name: c.name, description: c.description, value: c.value(p) }));
  } catch {
    return [];
  }
}

export interface BuildReportOptions {
  title?: string;
  /** Where the quotes come from. Say 'synthetic' for generated data; never call it market data. */
  dataSource: string;
  /** Exclusions of the normalization stage (the fits' own exclusions are added automatically). */
  exclusions?: ReportExclusion[];
  rowsIn?: number;
  notes?: string[];
  /** Refits for the Greeks bootstrap; without it the stability part is skipped. */
  refit?: Refit;
  bootstrap?: BootstrapOptions & {
    /** Models to bootstrap (default: all with a pricer except the slice models: black, svi, ssvi, essvi). */
    models?: string[];
  };
  /** Grid points per expiry for the Greeks (default 21). */
  greekPoints?: number;
  /** Progress messages (stderr in the CLI). */
  log?: (message: string) => void;
  generatedAt?: string;
}

export async function buildReport(
  quotes: readonly ReportQuote[],
  fits: readonly FitResult[],
  opts: BuildReportOptions,
): Promise<ReportData> {
  const log = opts.log ?? (() => {});
  const expiries = expiryTable(quotes);
  const points = marketPoints(quotes, fits);
  const partial: ReportData = {
    title: opts.title ?? `volfit calibration report: ${fits.map((f) => f.model).join(', ')}`,
    dataSource: opts.dataSource,
    generatedAt: opts.generatedAt ?? new Date().toISOString(),
    expiries,
    points,
    fits: [...fits],
    curves: [],
    greeks: [],
    exclusions: [
      ...(opts.exclusions ?? []),
      ...fits.flatMap((f) => f.quotes.excluded.map((e) => ({ row: e.row, reason: e.reason, stage: `calibrate ${f.model}` }))),
    ],
    rowsIn: opts.rowsIn,
    notes: [...(opts.notes ?? [])],
  };
  const atm = atmVols(partial);
  const grid = greekGrid(expiries, points, atm, opts.greekPoints ?? 21);
  const curves: ModelCurve[] = [];
  const greeks: GreeksSection[] = [];
  for (const fit of fits) {
    const p = pricerFor(fit, expiries);
    if (!('pricer' in p)) {
      partial.notes.push(`${fit.model}: no smile curve or Greeks (${p.reason}); model IVs at the quotes are shown.`);
      continue;
    }
    const { pricer } = p;
    try {
      curves.push(...modelCurves(pricer, fit.params, expiries, points));
      const pts = modelGreeks(pricer, fit.params, grid);
      const section: GreeksSection = {
        model: fit.model,
        method: `Central finite differences of the fitted model's f64 prices (forward bumped by ±0.025 %, parameters fixed); vega: ${pricer.vegaDefinition}. Out-of-the-money options on ${grid.ks[0]?.length ?? 0} strikes per expiry within ±3 ATM standard deviations.`,
        points: pts,
        warnings: greekWarnings(fit.model, pts, expiries),
      };
      const bootModels = opts.bootstrap?.models ?? fits.map((f) => f.model).filter((m) => !isSliceModelName(m));
      // A surface refit changes the slices, which a pricer built on this fit does not see (only
      // black's vols are its parameters): no bootstrap for svi, ssvi, essvi.
      const bootable = !isSliceModelName(fit.model) || fit.model === 'black';
      if (opts.refit && bootable && bootModels.includes(fit.model) && (opts.bootstrap?.n ?? 4) > 0) {
        log(`report: bootstrap of ${fit.model} Greeks (${opts.bootstrap?.n ?? 4} refits within bid/ask)`);
        section.bootstrap = await bootstrapStability(fit, quotes, pricer, grid, pts, opts.refit, opts.bootstrap);
      }
      greeks.push(section);
    } catch (e) {
      // A model the engine cannot price at these parameters loses its curves and Greeks, not the page.
      partial.notes.push(`${fit.model}: smile curve and Greeks not computed (${(e as Error).message}).`);
    }
  }
  const surfaces: SurfaceSection[] = [];
  for (const fit of fits) {
    const s = surfaceSection(fit, expiries, points);
    if (s && 'section' in s) surfaces.push(s.section);
    else if (s) partial.notes.push(s.reason);
  }
  return { ...partial, curves, greeks, surfaces, constraints: fits.flatMap(constraintChecks) };
}

/** The files writeReport writes in its folder, in order (index.html, the page, last). */
export const REPORT_FILES: readonly string[] = ['index.html'];

/**
 * Writes `<dir>/index.html` and returns its absolute path. The folder is created level by level
 * (never the recursive mkdir, which loops for ever on /proc); each file is written atomically
 * (temporary file + rename), index.html last, so a killed run never leaves half a page.
 */
export function writeReport(dir: string, data: ReportData): string {
  makeDirs(dir);
  const path = resolve(join(dir, 'index.html'));
  writeFileAtomic(path, renderReportHtml(data));
  return path;
}
