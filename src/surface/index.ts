/** Volatility surfaces: SVI per slice, SSVI, eSSVI; arbitrage checks; Dupire local vol. See README.md. */
export { fitSurface, type SurfaceFit, type SurfaceFitOptions } from './fit.js';
export { surfaceFitJson, loadSurfaceFit, parseSurfaceFit, SurfaceFitJsonError, type SurfaceFitJson, type SurfaceFitJsonSlice, type LoadedSurfaceFit } from './fitJson.js';
export * from './types.js';
export {
  sviW,
  sviDerivs,
  sviParamGradient,
  sviMinVariance,
  sviWingSlopes,
  rawToNatural,
  naturalToRaw,
  rawToJw,
  jwToRaw,
  type SviRaw,
  type SviNatural,
  type SviJw,
} from './svi.js';
export { ssviW, ssviPartials, powerLawPhi, powerLawPsi, ssviToRaw, ssviConditions, powerLawConditionSup, type SsviSliceParams } from './ssvi.js';
export { SviCurve, SsviCurve, SviSurface, SsviSurface, EssviSurface, Pchip, surfaceIv, type VolSurface, type SliceCurve, type SurfacePoint, type Derivs } from './surface.js';
export { densityG, arbitrageReport, butterflyViolations, calendarViolations, leeViolations, defaultCheckGrid, type CheckGrid } from './arbitrage.js';
export { localVariance, localVol, localVolGrid, type LocalVolGrid } from './dupire.js';
export { prepareSlices, type PrepareOptions, type CabinetOptions, type Weighting, type SliceData } from './slices.js';
export { solveInner, evaluateGridBatch, accumulateSums, innerAt, innerToRaw, type SliceBatch, type GridSpec, type GridResult, type InnerSums } from './qe.js';
export { evaluateGridBatchGpu, sviGridValuesGpu } from './gpuGrid.js';
export { fitSviSlices, polishSlice, sviGridProblem, type SviFitOptions, type SviSliceFit } from './sviFit.js';
export { fitSsvi, fitEssvi, essviStartFromSsvi, type SsviFitResult, type EssviFitResult } from './ssviFit.js';
