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
