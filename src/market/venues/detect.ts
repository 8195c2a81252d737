/**
 * `--venue auto`: recognise a layout by its header. Deribit and CBOE need all their columns; the
 * canonical format needs expiry, strike, type and a price column. Anything else is a clear error
 * listing what each layout expects.
 */
import { MarketFormatError } from '../errors.js';
import { CANONICAL_COLUMNS } from '../canonical.js';
import type { TableHead } from '../table.js';
import type { Venue } from '../types.js';
import { DERIBIT_COLUMNS } from './deribit.js';
import { CBOE_COLUMNS, CBOE_TIME_COLUMNS } from './cboe.js';

const has = (t: TableHead, names: readonly string[]) => names.some((n) => t.index.has(n));

export function detectVenue(table: TableHead): Venue {
  if (DERIBIT_COLUMNS.every((c) => table.index.has(c))) return 'deribit';
  if (CBOE_COLUMNS.every((c) => table.index.has(c)) && has(table, CBOE_TIME_COLUMNS)) return 'cboe';
  const c = CANONICAL_COLUMNS;
  if (has(table, c.expiry) && has(table, c.strike) && has(table, c.type) && (has(table, c.price) || has(table, c.mid) || (has(table, c.bid) && has(table, c.ask)))) {
    return 'canonical';
  }
  const found = table.header.filter((h) => h !== '').join(', ') || '(none)';
  throw new MarketFormatError(
    `unknown quote layout; expected one of: ` +
      `deribit (${DERIBIT_COLUMNS.join(', ')}), ` +
      `cboe (${CBOE_COLUMNS.join(', ')}, ${CBOE_TIME_COLUMNS.join(' or ')}), ` +
      `canonical (expiry, strike, type, price or mid or bid+ask, forward or spot); found: ${found}`,
  );
}

/** Checks that a named venue's columns are present, listing the missing ones. */
export function requireVenueColumns(table: TableHead, venue: Venue): void {
  const need: readonly string[] = venue === 'deribit' ? DERIBIT_COLUMNS : venue === 'cboe' ? CBOE_COLUMNS : [];
  const missing = need.filter((c) => !table.index.has(c));
  if (venue === 'cboe' && !has(table, CBOE_TIME_COLUMNS)) missing.push(CBOE_TIME_COLUMNS.join(' or '));
  if (missing.length) throw new MarketFormatError(`not a ${venue} file: missing column(s) ${missing.join(', ')}`);
}
