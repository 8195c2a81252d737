/**
 * Start-up: commands load their modules only when they run, so `volfit --help` and small
 * commands start within 0.15 s of a bare `node -e 0` (bench/startup.ts measures the medians:
 * 0.03-0.07 s; before lazy loading the overhead was ~0.45 s). The test's bound is 0.3 s: it runs
 * beside SwiftShader-heavy test files on 2 cores, and its job is to catch eager loading coming back.
 * The help summaries are the commands' own.
 */
import { spawnSync } from 'node:child_process';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/index.js';
import { BIN, distBuilt, ROOT } from './spawn.js';

function fastest(args: string[], n = 7): number {
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
    expect(r.status).toBe(0);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best;
}

describe('start-up', () => {
  it('each command\'s help summary is its own description', async () => {
    for (const entry of commands) {
      const program = new Command();
      (await entry.load()).register(program);
      expect(program.commands.map((c) => c.name())).toEqual([entry.name]);
      expect(program.commands[0].description()).toBe(entry.summary);
    }
  });

  it.skipIf(!distBuilt())('volfit --help and iv start within 0.3 s of node -e 0 (fastest of 7)', () => {
    const node = fastest(['-e', '0']);
    expect(fastest([BIN, '--help']) - node).toBeLessThan(0.3);
    expect(fastest([BIN, 'iv', '--help']) - node).toBeLessThan(0.3);
  });
});
