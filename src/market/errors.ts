/**
 * A market-data file that cannot be read at all (empty, unparseable, a required column missing,
 * an unknown venue layout). Bad *rows* never throw: they are reported per row instead.
 */
export class MarketFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MarketFormatError';
  }
}
