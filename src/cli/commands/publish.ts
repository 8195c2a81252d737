/**
 * `volfit publish --fit fit.json [--key file] [--deadline 5m] [--chain-id N]
 * [--verifying-contract 0x..] [--out updates.json] [--now ISO] [--half-life s] [--allow-arbitrage]`:
 * one EIP-712-signed vol-feed update per expiry of an SVI/SSVI/eSSVI fit (src/publish/). The key
 * comes from the file `--key` or the environment variable VOLFIT_SIGNER_KEY, never from argv.
 * Output: the updates JSON on stdout, or to `--out` (then a line per update on stdout). Bad input:
 * one line, exit 2, nothing written.
 */
import { Command } from 'commander';
import { isAddress, getAddress } from 'viem';
import { isoUtc, parseIsoUtc } from '../../market/time.js';
import { DEFAULT_WEIGHTS } from '../../market/weights.js';
import { PublishError } from '../../publish/errors.js';
import { KEY_ENV, signerAccount } from '../../publish/key.js';
import { publishFit } from '../../publish/publish.js';
import { UserError } from '../errors.js';
import { checkOutputFile, emit, writeOutput } from '../io.js';
import { parseIntegerFlag, parseNumberFlag, readInput } from '../parse.js';

export const PUBLISH_SUMMARY = 'sign one on-chain vol-feed update (EIP-712, SVI in 1e18 fixed point, confidence, deadline) per expiry of an SVI, SSVI or eSSVI fit';

const UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };

/** A duration such as 300, 300s, 5m, 1.5h, 2d, in seconds. */
export function parseDuration(flag: string, value: string): number {
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*([smhd]?)\s*$/.exec(value);
  if (!m) throw new UserError(`${flag} must be a duration such as 300s, 5m, 2h or 1d (got '${value}')`);
  const s = Number(m[1]) * UNITS[m[2]];
  if (!(s >= 1)) throw new UserError(`${flag} ${value}: a latency budget under one second puts the deadline in the past`);
  return s;
}

/** An ISO time flag in ms. */
export function parseTimeFlag(flag: string, value: string | undefined): number {
  if (value === undefined) return Date.now();
  const t = parseIsoUtc(value);
  if (t === null) throw new UserError(`${flag} must be an ISO date/time such as 2026-01-05T09:30:00Z (got '${value}')`);
  return t;
}

/** An address flag, checksummed. */
export function parseAddressFlag(flag: string, value: string | undefined): `0x${string}` | undefined {
  if (value === undefined) return undefined;
  if (!isAddress(value, { strict: false })) throw new UserError(`${flag} must be a 20-byte hex address (0x followed by 40 hex digits; got '${value}')`);
  return getAddress(value);
}

/** Runs `f`, turning a PublishError into a one-line UserError with `prefix`. */
function asUserError<T>(prefix: string, f: () => T): T {
  const rethrow = (e: unknown): never => {
    if (e instanceof PublishError) throw new UserError(prefix + e.message);
    throw e;
  };
  try {
    const r = f();
    return (r instanceof Promise ? r.catch(rethrow) : r) as T;
  } catch (e) {
    return rethrow(e);
  }
}

function readJson(flag: string, path: string): unknown {
  const text = readInput(path);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${flag} ${path}: not JSON (${(e as Error).message.split('\n')[0]})`);
  }
}

export function register(program: Command): void {
  program
    .command('publish')
    .description(PUBLISH_SUMMARY)
    .requiredOption('--fit <file>', 'fit JSON of volfit calibrate --model svi|ssvi|essvi --json (or --out)')
    .option('--key <file>', `file holding the signer's hex private key (else the environment variable ${KEY_ENV})`)
    .option('--deadline <duration>', 'oracle latency budget: deadline = market data time + this (s, m, h, d)', '5m')
    .option('--chain-id <n>', 'EIP-712 domain chain id (a VolFeed contract needs it)')
    .option('--verifying-contract <address>', 'EIP-712 domain verifying contract (the VolFeed address)')
    .option('--out <file>', 'write the updates JSON here (default: stdout)')
    .option('--now <iso>', 'publish time (default: the clock); data older than the budget at this time is refused')
    .option('--half-life <seconds>', 'staleness half-life of the confidence (the normalizer default)', String(DEFAULT_WEIGHTS.halfLifeSeconds))
    .option('--allow-arbitrage', 'publish a surface whose arbitrage report is not free')
    .action(async (o) => {
      if (o.out !== undefined) checkOutputFile('--out', o.out, [{ flag: '--fit', path: o.fit }, { flag: '--key', path: o.key }]);
      const budgetSeconds = parseDuration('--deadline', o.deadline);
      const chainId = o.chainId === undefined ? undefined : parseIntegerFlag('--chain-id', o.chainId, 1, Number.MAX_SAFE_INTEGER);
      const verifyingContract = parseAddressFlag('--verifying-contract', o.verifyingContract);
      const nowMs = parseTimeFlag('--now', o.now);
      const halfLifeSeconds = parseNumberFlag('--half-life', o.halfLife) as number;
      if (!(halfLifeSeconds > 0)) throw new UserError(`--half-life must be a positive number of seconds (got '${o.halfLife}')`);
      const fit = readJson('--fit', o.fit);
      const account = asUserError('', () => signerAccount(o.key));
      const file = await asUserError(`--fit ${o.fit}: `, () =>
        publishFit(fit, account, { nowMs, budgetSeconds, halfLifeSeconds, chainId, verifyingContract, allowArbitrage: !!o.allowArbitrage }),
      );
      const json = JSON.stringify(file, null, 2) + '\n';
      if (o.out === undefined) return emit(json);
      writeOutput('--out', o.out, json);
      const lines = file.updates.map(
        (u) => `${u.expiry_iso}  confidence ${(Number(u.message.confidence) / 1e18).toFixed(4)} (posterior ${u.confidence.posterior.toFixed(3)}, coverage ${u.confidence.coverage.toFixed(2)}, staleness ${u.confidence.staleness.toFixed(3)})  deadline ${isoUtc(Number(u.message.deadline) * 1000)}`,
      );
      emit([`${file.updates.length} updates signed by ${file.signer} (${file.model}, data as of ${file.as_of}) -> ${o.out}`, ...lines].join('\n'));
    });
}
