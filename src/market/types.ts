/**
 * Shared shapes of the normalization pipeline: a candidate quote read from a venue file, the
 * reason codes of the exclusion log, and the per-expiry facts a venue reader finds (the reader
 * itself: venues/reader.ts).
 */
import type { Quote } from './canonical.js';
import type { ParityFit } from './parity.js';

export type Venue = 'deribit' | 'cboe' | 'canonical';

/** Every reason a row can leave the quote set. One code per row: the first test it fails. */
export const EXCLUSION_REASONS = [
  'invalid_input', // a field does not parse (detail names it)
  'wrong_underlying', // another currency than --underlying (mixed Deribit files)
  'no_bid', // bid missing or zero
  'no_ask', // ask missing or zero
  'crossed_quote', // bid > ask
  'expired', // expiry at or before the as-of time
  'expiry_too_short', // T below the minimum
  'no_forward', // no forward/discount could be derived for the expiry
  'duplicate_quote', // same expiry, strike and type as an earlier row
  'wide_spread', // (ask - bid) / mid above the maximum
  'outside_moneyness_band', // K / F outside [min, max]
  'below_intrinsic', // price under D * max(F - K, 0) (call) or D * max(K - F, 0) (put)
  'above_upper_bound', // call above D * F, put above D * K
  'stale_quote', // older than the maximum age
  'no_implied_vol', // Black-76 inversion failed (detail gives the status)
  'itm_with_otm_twin', // in the money while the out-of-the-money twin at that strike is kept
] as const;
export type ExclusionReason = (typeof EXCLUSION_REASONS)[number];

export interface Exclusion {
  row: number;
  reason: ExclusionReason;
  /** Field at fault (invalid_input) or a short human explanation. */
  field?: string;
  detail?: string;
}

/** A quote as read from a venue, before filtering. */
export interface Candidate extends Quote {
  /** Expiry instant (UTC ms) when known; used to group expiries and print them. */
  expiryMs?: number;
  /** Quote time (UTC ms) when known; used for the staleness weight. */
  timestampMs?: number;
  /** The venue's own implied vol (Deribit mark IV, CBOE IV), kept for comparison. */
  venueIv?: number;
}

/** Per-expiry facts a venue reader found (forwards, parity fits). */
export interface VenueExpiry {
  /** Key the candidates share (their `expiry` string). */
  expiry: string;
  T: number;
  forward: number;
  discount: number;
  /** 'venue': the file gives it (Deribit underlying); 'parity': fitted; 'input': canonical rows. */
  forwardSource: 'venue' | 'parity' | 'parity_neighbor_rate' | 'input';
  /** Put-call parity fit on this expiry's quotes (when enough pairs), whatever the source. */
  parity?: ParityFit;
}
