/**
 * `volfit backtest --queue` + `volfit worker` against a real redis-server (Debian package) started
 * here on a free loopback port: the coordinator's results equal a single-process run, also when a
 * worker is killed (SIGKILL) in the middle of a job and another one takes the job over; only the
 * coordinator writes the store. Redis is killed at the end.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, distBuilt, ROOT, spawnCli } from '../cli/spawn.js';

const redisAvailable = spawnSync('redis-server', ['--version']).status === 0;
const tmp = mkdtempSync(join(tmpdir(), 'volfit-queue-'));
const children: ChildProcess[] = [];
let redis: ChildProcess | undefined;
let url = '';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A child whose stderr is collected; `waitFor` resolves when a line matches. */
function start(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  let out = '';
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => {
    err += d;
    for (const w of waiters.splice(0)) (w.re.test(err) ? w.resolve : () => waiters.push(w))();
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return {
    child,
    done,
    stderr: () => err,
    stdout: () => out,
    waitFor: (re: RegExp) => new Promise<void>((resolve) => (re.test(err) ? resolve() : waiters.push({ re, resolve }))),
  };
}

const timeless = (json: string) => JSON.parse(json, (k, v) => (k === 'seconds' || k === 'db' ? undefined : v));

describe.skipIf(!distBuilt() || !redisAvailable)('backtest over a BullMQ queue (real redis-server)', () => {
  beforeAll(async () => {
    const port = await freePort();
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      redis!.stdout!.on('data', (d) => {
        out += d;
        if (/Ready to accept connections/.test(out)) resolve();
      });
      redis!.on('close', () => reject(new Error(`redis-server ended: ${out}`)));
    });
    url = `redis://127.0.0.1:${port}`;
  }, 30_000);

  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    redis?.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  });

  it('equals a single-process run although a worker is killed mid-job', async () => {
    const args = ['backtest', '--input', 'data/deribit-btc-daily', '--from', '2026-01-11', '--to', '2026-01-13', '--models', 'black,heston', '--backend', 'cpu', '--json'];
    const single = await spawnCli([...args, '--db', join(tmp, 'single.duckdb')], { timeoutMs: 120_000 });
    expect(single.code).toBe(0);

    const a = start(['worker', '--queue', url, '--lock-ms', '2000']);
    await a.waitFor(/waiting for jobs/);
    const coord = start([...args, '--db', join(tmp, 'queued.duckdb'), '--queue', url]);
    // Kill worker A inside its first warm Heston job (day 2); worker B must take the job over.
    await a.waitFor(/job \S+ start \(heston warm/);
    a.child.kill('SIGKILL');
    expect((await a.done).signal).toBe('SIGKILL');
    const b = start(['worker', '--queue', url, '--concurrency', '2', '--lock-ms', '2000']);
    const end = await coord.done;
    expect(coord.stderr()).not.toMatch(/internal error/);
    expect(end.code).toBe(0);
    expect(b.stderr()).toMatch(/job \S+-2026-01-12-heston-warm start/);
    expect(coord.stderr()).toMatch(/queue 2026-01-13: 2 jobs/);
    expect(timeless(coord.stdout())).toEqual(timeless(single.stdout));
    b.child.kill('SIGTERM');
    expect((await b.done).code).toBe(0);
  }, 240_000);

  it('refuses an unreachable Redis with one line (exit 2)', async () => {
    const port = await freePort();
    for (const args of [
      ['worker', '--queue', `redis://127.0.0.1:${port}`],
      ['backtest', '--input', 'data/deribit-btc-daily', '--from', '2026-01-11', '--to', '2026-01-11', '--models', 'black', '--queue', `redis://127.0.0.1:${port}`],
      ['worker', '--queue', 'http://127.0.0.1:1'],
    ]) {
      const r = await spawnCli(args, { timeoutMs: 30_000 });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/--queue/);
    }
  }, 60_000);
});
