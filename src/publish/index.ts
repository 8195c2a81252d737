/** Signed SVI vol-feed updates for on-chain use (see README.md here). */
export { publishFit, buildUpdates, maxVolError, UPDATES_FORMAT, type PublishOptions, type SignedUpdate, type UpdatesFile } from './publish.js';
export { verifyUpdates, type Verdict, type VerifyOptions } from './verify.js';
export { sliceConfidence, pooledNoise, PROBE_SDS, VOL_SE_SCALE, type Confidence, type PosteriorSlice, type SliceQuote } from './confidence.js';
export { WAD, FIXED_LIMITS, FixedPointError, lnWad, isqrt, sqrtWad, volWad, totalVarianceWad, logMoneynessWad, toWad, fromWad, type SviWad } from './fixed.js';
export { VOL_UPDATE_TYPES, VOL_UPDATE_FIELDS, PRIMARY_TYPE, DOMAIN_NAME, DOMAIN_VERSION, feedDomain, messageJson, rangeProblem, type VolUpdate, type FeedDomain } from './schema.js';
export { signerAccount, KEY_ENV } from './key.js';
export { PublishError } from './errors.js';
