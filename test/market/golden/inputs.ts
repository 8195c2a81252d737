/**
 * Inputs and a sha-256 ledger for the golden tests of the streamed `volfit normalize` and
 * `volfit iv`: the bundled files as they are, plus bigger files built from them by replication
 * (several read batches, expiries spanning batches, broken rows past the first batch, quoted
 * fields).
 */
import { readFileSync } from 'node:fs';

export const SNAPSHOT = 'data/deribit-btc-eth-snapshot-2026-01-05/deribit_options_snapshot_20260105T153329Z.csv';
export const DAILY = 'data/deribit-btc-daily';
export const SPX2025 = 'data/spx-2025-10-01-cboe-long-dated/spx_2025-10-01_cboe_chain.csv';
export const SPX2011 = 'data/spx-2011-01-24-pyql/spx_2011-01-24_chain.csv';

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

/**
 * SPX 2011 chain, `copies` times, copy c with its expiries moved c weeks later (new expiries,
 * same strikes), and some cells broken: a strike that is not a number every 997th row, an empty
 * bid every 1499th, an unknown option type every 2503rd. With `sameExpiries`, the expiries stay
 * and odd copies have their strikes moved c/2 up instead (even copies are duplicates): expiries
 * of thousands of rows.
 */
export function cboeReplica(copies: number, sameExpiries = false): string {
  const [head, ...body] = lines(readFileSync(SPX2011, 'utf8'));
  const cols = head.split(',');
  const ed = cols.indexOf('expiry_date');
  const ks = cols.indexOf('strike');
  const bid = cols.indexOf('bid');
  const ty = cols.indexOf('option_type');
  const out = [head];
  let n = 0;
  for (let c = 0; c < copies; c++) {
    for (const l of body) {
      n++;
      const r = l.split(',');
      if (sameExpiries) {
        if (c % 2 === 1) r[ks] = String(Number(r[ks]) + c / 2);
      } else if (c > 0) r[ed] = new Date(Date.parse(`${r[ed].slice(0, 10)}T00:00:00Z`) + c * 7 * 86_400_000).toISOString().slice(0, 10);
      if (n % 997 === 0) r[ks] = 'abc';
      if (n % 1499 === 0) r[bid] = '';
      if (n % 2503 === 0) r[ty] = 'X';
      out.push(r.join(','));
    }
  }
  return `${out.join('\n')}\n`;
}

/** The Deribit snapshot (both coins), `copies` times, copy c with its expiries moved c days later. */
export function deribitReplica(copies: number): string {
  const [head, ...body] = lines(readFileSync(SNAPSHOT, 'utf8'));
  const ed = head.split(',').indexOf('expiry_datetime');
  const out = [head];
  for (let c = 0; c < copies; c++) {
    for (const l of body) {
      const r = l.split(',');
      if (c > 0) r[ed] = new Date(Date.parse(r[ed]) + c * 86_400_000).toISOString();
      out.push(r.join(','));
    }
  }
  return `${out.join('\n')}\n`;
}

/**
 * A canonical file from a canonical one (normalize's output): `copies` copies, copy c with its
 * timestamp moved c minutes later, its strikes c * 10 higher, and the ISO expiry as `expiry` (so
 * T varies inside one expiry key), a venue name with a comma (quoted) every 11th row, and broken rows: price 'x' every
 * 389th, an expired row every 1201st, type 'z' every 1777th.
 */
export function canonicalReplica(canonicalCsv: string, copies: number): string {
  const [head, ...body] = lines(canonicalCsv);
  const cols = head.split(',');
  const ed = cols.indexOf('expiry_date');
  const ts = cols.indexOf('timestamp');
  const ks = cols.indexOf('strike');
  const pr = cols.indexOf('price');
  const ty = cols.indexOf('type');
  const ve = cols.indexOf('venue');
  const out = [head.replace(/^expiry,/, 'years,').replace(',expiry_date,', ',expiry,')];
  let n = 0;
  for (let c = 0; c < copies; c++) {
    for (const l of body) {
      n++;
      const r = l.split(',');
      const t = Date.parse(r[ts]) + c * 60_000;
      r[ts] = new Date(t).toISOString();
      r[ks] = String(Number(r[ks]) + c * 10);
      if (n % 1201 === 0) r[ed] = new Date(t - 86_400_000).toISOString(); // expired
      if (n % 389 === 0) r[pr] = 'x';
      if (n % 1777 === 0) r[ty] = 'z';
      if (n % 11 === 0) r[ve] = '"deribit, replica"';
      out.push(r.join(','));
    }
  }
  return `${out.join('\n')}\n`;
}

/** Small canonical file with a row of every iv status and a quoted, comma-bearing venue. */
export const IV_EDGE_ROWS = [
  'strike,type,expiry,price,forward,venue',
  '100,call,1,8,100,a',
  '100,call,1,abc,100,a',
  '-5,put,1,1,100,a',
  '120,put,1,10,100,a',
  '80,call,1,150,100,a',
  '100,x,1,8,100,a',
  '100,put,0.5,1e-300,100,"b, c"',
  '',
  '100,call,-1,8,100,a',
  '100,call,1,8,,a',
].join('\n');
