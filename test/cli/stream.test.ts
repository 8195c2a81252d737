/**
 * The streamed input and output of `volfit iv` and `volfit normalize` (src/cli/stream.ts): --out
 * is written under a temporary name and renamed at the end, so a run that fails part-way (a
 * broken CSV line after thousands of good ones) leaves an existing target as it was and no
 * temporary file; unreadable inputs are one-line errors.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'volfit-stream-'));

function quotes(n: number, broken = false): string {
  const lines = ['expiry,strike,type,price,forward'];
  for (let i = 0; i < n; i++) lines.push(`1,${90 + (i % 20)},${i % 2 ? 'call' : 'put'},${5 + (i % 7) / 10},100`);
  if (broken) lines.push('1,100,call,"5"x,100');
  return `${lines.join('\n')}\n`;
}

describe('streamed --out', () => {
  it('replaces the target at the end and leaves no temporary file', async () => {
    const folder = join(dir, 'ok');
    mkdirSync(folder);
    const input = join(folder, 'in.csv');
    writeFileSync(input, quotes(3000));
    const out = join(folder, 'out.csv');
    writeFileSync(out, 'old\n');
    for (const cmd of [['iv', '--backend', 'cpu'], ['normalize']]) {
      const res = await runCli([...cmd, '--input', input, '--out', out]);
      expect(res.code, res.stderr).toBe(0);
      expect(readFileSync(out, 'utf8').split('\n')[0]).toMatch(cmd[0] === 'iv' ? /^row,iv,status,field$/ : /^expiry,strike,type,price,/);
      expect(readdirSync(folder).sort()).toEqual(['in.csv', 'out.csv']);
    }
  });

  it('a file that breaks after thousands of rows: exit 2, one line, the old target kept, no temporary file', async () => {
    const folder = join(dir, 'broken');
    mkdirSync(folder);
    const input = join(folder, 'in.csv');
    writeFileSync(input, quotes(5000, true));
    const out = join(folder, 'out.csv');
    writeFileSync(out, 'old\n');
    for (const cmd of [['iv', '--backend', 'cpu'], ['iv', '--backend', 'cpu', '--format', 'json'], ['normalize', '--json']]) {
      const res = await runCli([...cmd, '--input', input, '--out', out]);
      expect(res.code).toBe(2);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(res.stderr).toMatch(/unparseable CSV/);
      expect(readFileSync(out, 'utf8')).toBe('old\n');
      expect(readdirSync(folder).sort()).toEqual(['in.csv', 'out.csv']);
    }
  });

  it('an input that cannot be read is a one-line error', async () => {
    for (const cmd of [['iv'], ['normalize']]) {
      const res = await runCli([...cmd, '--input', dir]);
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/cannot read .*EISDIR/);
      const missing = await runCli([...cmd, '--input', join(dir, 'nope.csv')]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/cannot read .*ENOENT/);
    }
  });
});
