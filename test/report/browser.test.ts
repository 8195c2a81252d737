/**
 * The report page in a real browser (Debian chromium via playwright-core, see chromium.ts):
 * the plots are laid out with a visible size, the page logs no console error and requests
 * nothing but its own file (works offline). Data: SYNTHETIC Heston surface (fixture.ts).
 * A screenshot is left in the temp dir for a look.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildReport, writeReport } from '../../src/report/build.js';
import { rng } from '../helpers/random.js';
import { hasChromium, inspectPage } from './chromium.js';
import { hestonFitAt, syntheticSurface, SYNTHETIC_SOURCE } from './fixture.js';

describe.skipIf(!hasChromium)('report in headless chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'volfit-report-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('shows every plot, logs no console error and loads nothing from outside', async () => {
    const s = syntheticSurface(rng());
    const fit = hestonFitAt({ ...s.truth, rho: s.truth.rho + 0.05 }, s.quotes);
    const data = await buildReport(s.quotes, [fit], { dataSource: SYNTHETIC_SOURCE });
    const file = writeReport(dir, data);
    const shot = join(tmpdir(), 'volfit-report-test.png');
    const page = await inspectPage(file, shot);
    console.info(`[volfit tests] report screenshot: ${shot}`);
    expect(page.consoleErrors).toEqual([]);
    expect(page.foreignRequests).toEqual([]);
    expect(page.sections).toEqual(['fits', 'smiles', 'residuals', 'parameters', 'convergence', 'greeks', 'data']);
    const charts = page.svgs.filter((s) => s.width > 200 && s.height > 100);
    const per = (id: string) => charts.filter((c) => c.section === id).length;
    expect(per('smiles')).toBe(4);
    expect(per('residuals')).toBe(1);
    expect(per('convergence')).toBe(1);
    expect(per('greeks')).toBe(3);
    expect(per('data')).toBe(1);
  }, 60_000);
});
