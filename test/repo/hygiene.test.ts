/**
 * A fresh clone elsewhere must pass its own tests: code and tests read data only from the repo,
 * never from the developers' shared folder or an absolute path of this machine.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOTS = ['src', 'test', 'bench', 'bin', '.ci'];
const SOURCE = /\.(ts|js|mjs|cjs|py|sh|json)$|^run$/;
// An absolute path into a machine's own folders, or the shared folder beside the checkout.
const FORBIDDEN = /(['"`](\/work\/|\/home\/|\/root\/|\/tmp\/)[^'"`]*\bdata\b)|\.\.\/shared\/|(['"`]\/work\/)/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return files(p);
    return SOURCE.test(name) ? [p] : [];
  });
}

describe('repository hygiene', () => {
  it('reads no data from outside the repository', () => {
    const offenders: string[] = [];
    for (const f of ROOTS.flatMap(files)) {
      if (f.endsWith('hygiene.test.ts')) continue;
      readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
        if (FORBIDDEN.test(line)) offenders.push(`${f}:${i + 1}: ${line.trim().slice(0, 120)}`);
      });
    }
    expect(offenders).toEqual([]);
  });
});
