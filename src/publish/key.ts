/**
 * The signer's private key: from a file (`--key path`) or the environment variable
 * VOLFIT_SIGNER_KEY, never from the command line. Either holds 64 hex digits, optionally with
 * 0x and surrounding whitespace. Errors name the source, never the content.
 */
import { readFileSync } from 'node:fs';
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { PublishError } from './errors.js';

export const KEY_ENV = 'VOLFIT_SIGNER_KEY';

const HEX_KEY = /^(0x)?([0-9a-fA-F]{64})$/;

function parseKey(text: string, source: string): PrivateKeyAccount {
  const m = HEX_KEY.exec(text.trim());
  if (!m) throw new PublishError(`${source}: not a private key (expected 64 hex digits, optionally 0x-prefixed)`);
  try {
    return privateKeyToAccount(`0x${m[2].toLowerCase()}`);
  } catch {
    // Zero or not below the curve order: the library's message is not repeated (it may echo the key).
    throw new PublishError(`${source}: not a valid secp256k1 private key`);
  }
}

/** The signing account from `keyPath` when given, else from VOLFIT_SIGNER_KEY. */
export function signerAccount(keyPath: string | undefined, env: NodeJS.ProcessEnv = process.env): PrivateKeyAccount {
  if (keyPath !== undefined) {
    let text: string;
    try {
      text = readFileSync(keyPath, 'utf8');
    } catch (e) {
      throw new PublishError(`--key ${keyPath}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    return parseKey(text, `--key ${keyPath}`);
  }
  const fromEnv = env[KEY_ENV];
  if (fromEnv === undefined || fromEnv.trim() === '') throw new PublishError(`no signing key: give --key <file> or set ${KEY_ENV}`);
  return parseKey(fromEnv, KEY_ENV);
}
