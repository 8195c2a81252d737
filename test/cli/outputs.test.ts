/**
 * Output files on a user's machine: every `--out` is checked before any work (one-line error
 * naming the flag and path, exit 2, never a stack trace or a hang), never overwrites an input,
 * and is written atomically (temporary file + rename). `normalize` says what it dropped and
 * fails when nothing survives.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { black76Price } from '../../src/engines/black/black76.js';
import { makeDirs, writeFileAtomic } from '../../src/util/files.js';
import { runCli } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'volfit-outputs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A small canonical quote file (Black-76 prices at 30 % vol). */
const quotes = join(dir, 'quotes.csv');
{
  const lines = ['expiry,strike,type,price,forward,rate,div'];
  for (const T of [0.25, 0.5, 1]) {
    for (const K of [80, 90, 100, 110, 120]) {
      const isCall = K >= 100;
      lines.push(`${T},${K},${isCall ? 'call' : 'put'},${black76Price(100, K, T, 0.3, isCall, Math.exp(-0.01 * T))},100,0.01,0`);
    }
  }
  writeFileSync(quotes, lines.join('\n') + '\n');
}
const original = readFileSync(quotes, 'utf8');
const aFile = join(dir, 'a-file.txt');
writeFileSync(aFile, 'not a folder\n');
const fitJson = join(dir, 'fit.json');
writeFileSync(fitJson, JSON.stringify({ model: 'heston', params: { v0: 0.09 }, objective: 0, quotes: { used: 0 }, residuals: [] }));

const HESTON = 'v0=0.09,kappa=2,theta=0.09,sigma=0.5,rho=-0.5';

/** Each file-writing command with a given --out. */
const FILE_COMMANDS: Record<string, (out: string) => string[]> = {
  iv: (out) => ['iv', '--input', quotes, '--backend', 'cpu', '--out', out],
  normalize: (out) => ['normalize', '--input', quotes, '--venue', 'canonical', '--out', out],
  price: (out) => ['price', '--model', 'heston', '--params', HESTON, '--spot', '100', '--expiry', '1', '--strikes', '90,100', '--backend', 'cpu', '--out', out],
  calibrate: (out) => ['calibrate', '--input', quotes, '--model', 'heston', '--route', 'lm', '--backend', 'cpu', '--out', out],
};

/** Paths no file can be written to, with what the error must say. */
const BAD_FILES: Array<[string, string, RegExp]> = [
  ['/proc (not writable)', '/proc/x', /cannot create files in \/proc/],
  ['a folder', dir, /is a directory/],
  ['a missing parent folder', join(dir, 'missing', 'out.csv'), /does not exist/],
  ['a file as parent folder', join(aFile, 'out.csv'), /is not a folder/],
];

function expectOneLineError(r: { code: number; stderr: string }, flag: string, path: string, what: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0].startsWith(`volfit: error: ${flag} ${path}`), lines[0]).toBe(true);
  expect(lines[0]).toMatch(what);
}

/** The CLI in a child process (for cases that hung: a timeout ends them, and the test fails). */
function runChild(args: string[], timeoutMs = 60_000): { code: number | null; stderr: string; stdout: string } {
  const code = "import { main } from './src/cli/main.ts'; process.exitCode = await main(process.argv);";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, 'volfit', ...args], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('--out of a file is checked before any work', () => {
  for (const [command, args] of Object.entries(FILE_COMMANDS)) {
    for (const [what, path, message] of BAD_FILES) {
      it(`${command} --out ${what}: one-line error, exit 2`, async () => {
        expectOneLineError(await runCli(args(path)), '--out', path, message);
      });
    }
  }

  it('calibrate refuses the --out before reading the input or fitting', async () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'a,b\n1,2\n');
    const out = join(dir, 'missing', 'fit.json');
    expectOneLineError(await runCli(['calibrate', '--input', bad, '--model', 'heston', '--backend', 'cpu', '--out', out]), '--out', out, /does not exist/);
  });

  it('writes to a device in place (/dev/null stays a device)', async () => {
    const r = await runCli(FILE_COMMANDS.iv('/dev/null'));
    expect(r.code, r.stderr).toBe(0);
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
  });
});

describe('--out of a folder (report, demo) is checked before any work and never hangs', () => {
  const reportArgs = (out: string) => ['report', '--fit', fitJson, '--quotes', quotes, '--out', out, '--bootstrap', '0', '--quiet'];
  const demoArgs = (out: string) => ['demo', '--backend', 'cpu', '--bootstrap', '0', '--out', out];

  for (const [name, args] of [['report', reportArgs], ['demo', demoArgs]] as const) {
    it(`${name} --out an existing file: one-line error, exit 2`, async () => {
      const r = await runCli(args(aFile));
      expectOneLineError(r, '--out', aFile, /is a file; a folder is needed/);
      expect(r.stderr).not.toMatch(/demo \[1\//); // no stage started
    });

    it(`${name} --out below a file: one-line error, exit 2`, async () => {
      const out = join(aFile, 'sub', 'report');
      expectOneLineError(await runCli(args(out)), '--out', out, new RegExp(`${aFile} is a file, not a folder`));
    });

    it(`${name} --out where index.html is a folder: one-line error, exit 2`, async () => {
      const out = join(dir, `${name}-index-is-dir`);
      mkdirSync(join(out, 'index.html'), { recursive: true });
      expectOneLineError(await runCli(args(out)), '--out', out, /index\.html is a directory/);
    });

    it(`${name} --out /proc/x/y (Node's recursive mkdir loops there): error in seconds, no hang`, () => {
      const r = runChild(args('/proc/x/y'));
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim()).toMatch(/^volfit: error: --out \/proc\/x\/y: cannot create files in \/proc \(\w+\)$/);
    });
  }

  it('makeDirs (what writeReport uses) fails on /proc instead of looping', () => {
    expect(() => makeDirs('/proc/x/y')).toThrow();
    expect(() => makeDirs(join(aFile, 'x'))).toThrow(/ENOTDIR/);
    const nested = join(dir, 'made', 'a', 'b');
    makeDirs(nested);
    expect(statSync(nested).isDirectory()).toBe(true);
    makeDirs(nested); // existing: nothing to do
  });
});

describe('--out never overwrites an input', () => {
  it('iv, normalize, price, calibrate: --out is --input (same path, other spelling, symbolic link, hard link)', async () => {
    const link = join(dir, 'quotes-link.csv');
    symlinkSync(quotes, link);
    const hard = join(dir, 'quotes-hard.csv');
    linkSync(quotes, hard);
    const spellings = [quotes, join(dir, '.', 'sub', '..', 'quotes.csv'), link, hard];
    for (const [command, args] of Object.entries(FILE_COMMANDS)) {
      if (command === 'price') continue; // --input below
      for (const out of spellings) {
        const r = await runCli(args(out));
        expectOneLineError(r, '--out', out, /is the same file as --input/);
      }
    }
    const r = await runCli(['price', '--model', 'heston', '--params', HESTON, '--input', quotes, '--backend', 'cpu', '--out', link]);
    expectOneLineError(r, '--out', link, /is the same file as --input/);
    expect(readFileSync(quotes, 'utf8')).toBe(original);
  });

  it('calibrate --out is --start or --prior', async () => {
    for (const flag of ['--start', '--prior']) {
      const r = await runCli(['calibrate', '--input', quotes, '--model', 'heston', '--backend', 'cpu', flag, fitJson, '--out', fitJson]);
      expectOneLineError(r, '--out', fitJson, new RegExp(`same file as ${flag}`));
    }
  });

  it('report: index.html in --out is --quotes or --fit', async () => {
    for (const [file, flag] of [[quotes, '--quotes'], [fitJson, '--fit']]) {
      const sub = mkdtempSync(join(dir, 'report-in-'));
      const inside = join(sub, 'index.html');
      writeFileSync(inside, readFileSync(file));
      const args = flag === '--quotes' ? ['--fit', fitJson, '--quotes', inside] : ['--fit', inside, '--quotes', quotes];
      const r = await runCli(['report', ...args, '--out', sub, '--bootstrap', '0', '--quiet']);
      expectOneLineError(r, '--out', join(sub, 'index.html'), new RegExp(`same file as ${flag}`));
    }
  });
});

describe('outputs are written atomically (temporary file + rename)', () => {
  it('iv --out replaces an existing file by rename (new inode), keeps its mode, leaves no temporary file', async () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const out = join(sub, 'iv.csv');
    writeFileSync(out, 'old\n');
    chmodSync(out, 0o640);
    const before = statSync(out).ino;
    const r = await runCli(FILE_COMMANDS.iv(out));
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^row,iv,status,field\n1,/);
    expect(statSync(out).ino).not.toBe(before);
    expect(statSync(out).mode & 0o777).toBe(0o640);
    expect(readdirSync(sub)).toEqual(['iv.csv']);
  });

  it('a symbolic link as --out keeps pointing at its file, which gets the output', async () => {
    const sub = mkdtempSync(join(dir, 'atomic-link-'));
    const target = join(sub, 'real.csv');
    writeFileSync(target, 'old\n');
    const link = join(sub, 'link.csv');
    symlinkSync(target, link);
    const r = await runCli(FILE_COMMANDS.normalize(link));
    expect(r.code, r.stderr).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toMatch(/^expiry,strike,type,price/);
    expect(readdirSync(sub).sort()).toEqual(['link.csv', 'real.csv']);
  });

  it('writeFileAtomic: no temporary file after success or failure; a failed write leaves the old file', () => {
    const sub = mkdtempSync(join(dir, 'atomic-unit-'));
    const out = join(sub, 'x.txt');
    writeFileAtomic(out, 'one');
    writeFileAtomic(out, 'two');
    expect(readFileSync(out, 'utf8')).toBe('two');
    expect(() => writeFileAtomic(sub, 'x')).toThrow(/EISDIR/);
    expect(() => writeFileAtomic(join(sub, 'none', 'x.txt'), 'x')).toThrow(/ENOENT/);
    expect(readdirSync(sub)).toEqual(['x.txt']);
  });

  it('report rewrites index.html by rename in an existing folder, nothing else left there', async () => {
    const out = mkdtempSync(join(dir, 'report-atomic-'));
    writeFileSync(join(out, 'index.html'), 'old');
    const before = statSync(join(out, 'index.html')).ino;
    const { writeReport } = await import('../../src/report/build.js');
    const data = { title: 't', dataSource: 'SYNTHETIC', generatedAt: 'now', expiries: [], points: [], fits: [], curves: [], greeks: [], exclusions: [], notes: [], constraints: [] };
    const path = writeReport(out, data as unknown as Parameters<typeof writeReport>[1]);
    expect(path).toBe(join(out, 'index.html'));
    expect(statSync(path).ino).not.toBe(before);
    expect(readFileSync(path, 'utf8')).toMatch(/<html/i);
    expect(readdirSync(out)).toEqual(['index.html']);
  });
});

describe('normalize says what it dropped', () => {
  const DERIBIT = 'data/deribit-btc-eth-snapshot-2026-01-05/deribit_options_snapshot_20260105T153329Z.csv';

  it('prints one summary line on stderr: rows in, out, top exclusion reasons', async () => {
    const out = join(dir, 'btc.csv');
    const r = await runCli(['normalize', '--input', DERIBIT, '--underlying', 'BTC', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([
      'volfit: normalize: 1288 in, 249 out; excluded: 660 wrong_underlying, 233 itm_with_otm_twin, 69 outside_moneyness_band, 29 wide_spread, 22 expiry_too_short, 17 below_intrinsic, 9 no_bid',
    ]);
  });

  it('fails (exit 2, no file) when every row is excluded, naming the reasons', async () => {
    const out = join(dir, 'none.csv');
    const r = await runCli(['normalize', '--input', DERIBIT, '--underlying', 'BTC', '--as-of', '2030-01-01T00:00:00Z', '--out', out]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^volfit: error: .*nothing survived normalization: 0 of 1288 rows kept .*excluded: 660 wrong_underlying, 619 expired/);
    expect(existsSync(out)).toBe(false);
    // Without --out: no header-only CSV on stdout either.
    const s = await runCli(['normalize', '--input', DERIBIT, '--underlying', 'BTC', '--as-of', '2030-01-01T00:00:00Z']);
    expect(s.code).toBe(2);
    expect(s.stdout).toBe('');
  });
});
