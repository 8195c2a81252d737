/**
 * Checks the updates of an updates.json as the feed contract would: the EIP-712 signature
 * recovers (viem) to the expected signer, s in the lower half, the deadline not passed and the
 * data time not in the future at `now`, every value inside the fixed-point ranges. A fault of one
 * update makes that update invalid with the reason; a file that is not an updates file at all is
 * a PublishError (CLI exit 2).
 */
import { getAddress, isAddress, parseSignature, recoverTypedDataAddress, type Hex } from 'viem';
import { isoUtc } from '../market/time.js';
import { PublishError } from './errors.js';
import { feedDomain, lowS, PRIMARY_TYPE, rangeProblem, VOL_UPDATE_FIELDS, VOL_UPDATE_TYPES, type FeedDomain, type VolUpdate } from './schema.js';

export interface VerifyOptions {
  /** Expected signer; default: the file's `signer` (then only self-consistency is checked). */
  signer?: `0x${string}`;
  nowMs: number;
}

export interface Verdict {
  expiry: number | null;
  valid: boolean;
  /** Why not; null when valid. */
  reason: string | null;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The file's domain, checked: name and version strings, optional integer chainId and address. */
function readDomain(d: unknown): FeedDomain {
  if (!isObj(d) || typeof d.name !== 'string' || typeof d.version !== 'string') throw new PublishError('domain: must be an object with name and version strings');
  const chainId = d.chainId;
  if (chainId !== undefined && !(Number.isSafeInteger(chainId) && (chainId as number) > 0)) throw new PublishError('domain.chainId: must be a positive integer');
  const vc = d.verifyingContract;
  if (vc !== undefined && !(typeof vc === 'string' && isAddress(vc, { strict: false }))) throw new PublishError('domain.verifyingContract: must be an address');
  return { ...feedDomain(chainId as number | undefined, vc as `0x${string}` | undefined), name: d.name, version: d.version };
}

const INT = /^-?\d{1,78}$/;

/** The message of an update, or the first field that is not a decimal integer. */
function readMessage(m: unknown): VolUpdate | string {
  if (!isObj(m)) return 'message: missing';
  const out: Partial<VolUpdate> = {};
  for (const f of VOL_UPDATE_FIELDS) {
    const v = m[f];
    if (typeof v !== 'string' || !INT.test(v)) return `message.${f}: not a decimal integer string`;
    out[f] = BigInt(v);
  }
  return out as VolUpdate;
}

async function verifyOne(u: unknown, i: number, domain: FeedDomain, signer: `0x${string}`, nowMs: number): Promise<Verdict> {
  const bad = (expiry: number | null, reason: string): Verdict => ({ expiry, valid: false, reason });
  if (!isObj(u)) return bad(null, `updates[${i}] is not an object`);
  const msg = readMessage(u.message);
  if (typeof msg === 'string') return bad(null, msg);
  const expiry = Number(msg.expiry);
  const sig = u.signature;
  if (typeof sig !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(sig)) return bad(expiry, 'signature: not 65 bytes of hex');
  let s: bigint;
  try {
    s = BigInt(parseSignature(sig as Hex).s);
  } catch {
    return bad(expiry, 'signature: not a valid (r, s, v) signature');
  }
  if (!lowS(s)) return bad(expiry, 'signature: s in the upper half (malleable form; the feed refuses it)');
  let recovered: `0x${string}`;
  try {
    recovered = await recoverTypedDataAddress({ domain, types: VOL_UPDATE_TYPES, primaryType: PRIMARY_TYPE, message: msg, signature: sig as Hex });
  } catch {
    return bad(expiry, 'signature: no signer recovers from it');
  }
  if (recovered !== signer) return bad(expiry, `signer: signed by ${recovered}, not ${signer} (tampered message or another key)`);
  const now = BigInt(Math.floor(nowMs / 1000));
  if (now > msg.deadline) return bad(expiry, `deadline: expired at ${isoUtc(Number(msg.deadline) * 1000)}, before ${isoUtc(nowMs)}`);
  if (msg.timestamp > now) return bad(expiry, `timestamp: data time ${isoUtc(Number(msg.timestamp) * 1000)} is after ${isoUtc(nowMs)}`);
  const range = rangeProblem(msg);
  if (range) return bad(expiry, `range: ${range}`);
  return { expiry, valid: true, reason: null };
}

/** Verdicts for every update of a parsed updates file. */
export async function verifyUpdates(file: unknown, opts: VerifyOptions): Promise<Verdict[]> {
  if (!isObj(file)) throw new PublishError('an updates file must be a JSON object');
  if (!Array.isArray(file.updates)) throw new PublishError('updates: must be an array (volfit publish output)');
  const domain = readDomain(file.domain);
  if (file.primaryType !== undefined && file.primaryType !== PRIMARY_TYPE) throw new PublishError(`primaryType: must be ${PRIMARY_TYPE} (got ${JSON.stringify(file.primaryType)})`);
  let signer = opts.signer;
  if (signer === undefined) {
    if (typeof file.signer !== 'string' || !isAddress(file.signer, { strict: false })) throw new PublishError('signer: the file names no signer address; give --signer');
    signer = file.signer as `0x${string}`;
  }
  const expected = getAddress(signer);
  const out: Verdict[] = [];
  for (const [i, u] of file.updates.entries()) out.push(await verifyOne(u, i, domain, expected, opts.nowMs));
  return out;
}
