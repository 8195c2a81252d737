/**
 * Observable Plot rendered to SVG markup at build time, in Node, on linkedom's DOM. The page
 * then needs no script and no network: every chart is inline SVG.
 *
 * Continuous colour legends draw on a canvas, which linkedom lacks; charts here use threshold
 * or ordinal colour scales, whose legends are plain SVG/HTML.
 */
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';

let doc: Document | undefined;

function document(): Document {
  if (!doc) doc = parseHTML('<!doctype html><html><head></head><body></body></html>').document as unknown as Document;
  return doc;
}

/** Renders one Plot specification to markup (an <svg>, or a <figure> when it has a legend). */
export function renderPlot(options: Plot.PlotOptions): string {
  const el = Plot.plot({ ...options, document: document() });
  return (el as unknown as { outerHTML: string }).outerHTML;
}

/** A stand-alone legend (shared by several charts) as markup. */
export function renderLegend(options: Plot.LegendOptions): string {
  const el = Plot.legend({ ...options, document: document() } as Plot.LegendOptions);
  return el ? (el as unknown as { outerHTML: string }).outerHTML : '';
}

export { Plot };
