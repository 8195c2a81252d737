/** volfit library entry point. */
export * from './backends/backend.js';
export { getGpu, releaseGpu, type GpuContext } from './backends/webgpu/device.js';
export * from './market/canonical.js';
export { MarketFormatError } from './market/errors.js';
export { normalize, type NormalizeOptions, type NormalizeResult, type NormalizedQuote, type NormalizeSummary, type ExpiryRow } from './market/normalize.js';
export type { Exclusion, ExclusionReason, Venue } from './market/types.js';
export { EXCLUSION_REASONS } from './market/types.js';
export { fitParity, type ParityFit, type ParityPair } from './market/parity.js';
export { createMcPricer, priceMc, mcEngine, MC_CLI_DEFAULTS, type McOptions, type McPricer, type McPriceResult } from './engines/mc/index.js';
export { rbergomi } from './models/rbergomi.js';
export { createLocalVolPricer, priceLocalVolMc, LOCALVOL_GRID_DEFAULTS, type LocalVolMcOptions, type LocalVolMcPricer, type LocalVolMcResult } from './engines/mc/localvol.js';
export { calibrate, type CalibrateOptions, type PricerFactory, type ProgressEvent } from './calibrator/calibrate.js';
export { calibrateCsv } from './calibrator/csv.js';
export type { CalibrationResult, RouteName } from './calibrator/result.js';
export type { CalibrationQuote } from './calibrator/quotes.js';
export { CalibrationInputError } from './calibrator/transforms.js';
export { black76Price, black76Greeks, blackScholesGreeks, type Greeks } from './engines/black/black76.js';
export { impliedVolatility, impliedVolatilities, type IvResult, type IvStatus, type IvBatch } from './engines/black/impliedVol.js';
export { black76PricesGpu, impliedVolatilitiesGpu, type PriceBatch, type GreeksBatch } from './engines/black/gpu.js';
export { normCdf, normPdf, erfc, erfcx } from './engines/black/normal.js';
export * from './models/index.js';
export * from './engines/cos/index.js';
export { buildReport, writeReport, type BuildReportOptions } from './report/build.js';
export { renderReportHtml } from './report/html.js';
export { parseFitResult, FitFormatError, type FitResult, type FitResidual } from './report/fit.js';
export type { ReportData, ReportQuote, GreekPoint, GreeksSection, StabilityPoint } from './report/types.js';
export { runDemo, formatDemoSummary, DEMO_MODELS, type DemoOptions, type DemoSummary } from './demo/demo.js';
export { fitBlackFlat, fitSliceModel, type SliceCalibrateOptions } from './calibrator/sliceFit.js';
export { blackParamName, fitFlatVols } from './surface/blackFlat.js';
export { type GpuIvOptions } from './engines/black/gpu.js';
export { pricerFactoryFor, engineFor, MC_CALIBRATION_DEFAULTS, type CalibrationEngine } from './calibrator/pricers.js';
export {
  ENGINES,
  enginesFor,
  defaultEngine,
  engineCapabilities,
  engineNames,
  getEngine,
  processEngine,
  sliceEngine,
  pricerFactory,
  type Engine,
  type EngineName,
  type EnginePurpose,
  type EngineCapabilities,
  type EngineOptions,
  type ProcessEngine,
  type SliceEngine,
  type SliceFitOptions,
  type SliceFitData,
  type SliceQuote,
} from './engines/registry.js';
export type { SurfacePricer, QuoteSet, BatchPrices } from './engines/pricer.js';
export { setShaderBaseUrl } from './backends/webgpu/shaderSource.js';
export * as surface from './surface/index.js';
export * as publish from './publish/index.js';
export {
  calibrateMany,
  isSurfaceFailure,
  type CalibrateManyOptions,
  type ManySurface,
  type SurfaceSettings,
  type SurfaceResult,
  type SurfaceFailure,
  type SurfaceOutcome,
  type ManyProgressEvent,
} from './calibrator/many.js';
export { surfacesFromCsv, SURFACE_COLUMNS, type SplitCsv } from './calibrator/manyCsv.js';
