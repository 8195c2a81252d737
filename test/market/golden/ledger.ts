/**
 * A ledger of output hashes for the golden tests: the hashes of the outputs of the in-memory
 * implementation the streams replaced. `VOLFIT_UPDATE_GOLDEN=1` rewrites it (only for an intended
 * change of output).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

export const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

/** Checks outputs against a ledger of hashes, or records them when VOLFIT_UPDATE_GOLDEN=1. */
export class Golden {
  private readonly update = process.env.VOLFIT_UPDATE_GOLDEN === '1';
  private readonly ledger: Record<string, { sha256: string; bytes: number }>;
  constructor(private readonly file: string) {
    this.ledger = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  }

  check(name: string, output: string): void {
    const got = { sha256: sha256(output), bytes: Buffer.byteLength(output) };
    if (this.update) {
      this.ledger[name] = got;
      return;
    }
    expect(this.ledger[name], `no golden hash for ${name} (VOLFIT_UPDATE_GOLDEN=1 records one)`).toBeDefined();
    expect(got, `${name}: output differs from the golden one`).toEqual(this.ledger[name]);
  }

  save(): void {
    if (!this.update) return;
    const sorted = Object.fromEntries(Object.entries(this.ledger).sort(([a], [b]) => a.localeCompare(b)));
    writeFileSync(this.file, `${JSON.stringify(sorted, null, 1)}\n`);
  }
}

export const goldenFile = (name: string) => join('test/market/golden', name);
