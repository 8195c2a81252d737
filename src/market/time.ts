/**
 * Timestamps and year fractions. Every time is handled as UTC milliseconds; a time without a zone
 * is read as UTC, a date without a time as 00:00 UTC. Year fractions are ACT/365 (fixed) with
 * intraday precision: (t1 - t0) / (365 * 86400 s).
 */

export const MS_PER_YEAR_365 = 365 * 86_400_000;

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Parses an ISO-8601 date or date-time to UTC milliseconds (fractional: microseconds kept), or
 * null when it is not one. Written by hand because Date.parse differs between engines on
 * microseconds and zone-less strings, and silently rolls over invalid days (Feb 30).
 */
export function parseIsoUtc(text: string): number | null {
  const m = ISO.exec(text.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number);
  if (mo < 1 || mo > 12 || d < 1 || h > 24 || mi > 59 || s > 60) return null;
  const base = Date.UTC(y, mo - 1, d, h, mi, s);
  if (new Date(Date.UTC(y, mo - 1, d)).getUTCDate() !== d) return null; // 2026-02-30
  const frac = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
  let offsetMin = 0;
  const z = m[8];
  if (z && z.toUpperCase() !== 'Z') {
    const sign = z[0] === '-' ? -1 : 1;
    const digits = z.slice(1).replace(':', '');
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0'));
  }
  return base + frac - offsetMin * 60_000;
}

/** ACT/365 year fraction from t0 to t1 (milliseconds). */
export function yearFraction365(t0Ms: number, t1Ms: number): number {
  return (t1Ms - t0Ms) / MS_PER_YEAR_365;
}

/** Whether the text looks like a date (so a numeric column holding it gets a clear message). */
export function looksLikeDate(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}/.test(text.trim());
}

/**
 * UTC offset of US Eastern time, in hours (-4 in daylight time, -5 otherwise), for a wall-clock
 * date in New York. US rule since 2007: DST from the second Sunday of March to the first Sunday of
 * November. CBOE files give times in ET without a zone.
 */
export function easternOffsetHours(year: number, month1: number, day: number): number {
  const nthSunday = (m: number, n: number): number => {
    const firstDow = new Date(Date.UTC(year, m - 1, 1)).getUTCDay();
    return 1 + ((7 - firstDow) % 7) + 7 * (n - 1);
  };
  const start = nthSunday(3, 2);
  const end = nthSunday(11, 1);
  const key = month1 * 100 + day;
  return key >= 300 + start && key < 1100 + end ? -4 : -5;
}

/** Converts a US Eastern wall-clock time (y, m, d, hh, mm) to UTC milliseconds. */
export function easternToUtcMs(year: number, month1: number, day: number, hour: number, minute: number): number {
  const off = easternOffsetHours(year, month1, day);
  return Date.UTC(year, month1 - 1, day, hour, minute) - off * 3_600_000;
}

export function isoUtc(ms: number): string {
  return new Date(Math.round(ms)).toISOString();
}
