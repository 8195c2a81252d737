/**
 * `npm run bench [name...] [-- --flag]`: runs bench/<name>.ts (all of them without names). Each bench
 * compares with QuantLib in the same run and records into bench/results.json and RESULTS.md.
 */
import { readdirSync } from 'node:fs';

const dir = new URL('./', import.meta.url);
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3))
  .sort();
// Flags (`npm run bench many -- --quick`) are the benches' own to read.
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length) {
  console.error(`unknown bench ${unknown.join(', ')}; available: ${all.join(', ')}`);
  process.exit(2);
}
for (const name of wanted.length ? wanted : all) {
  console.log(`\n=== bench/${name}`);
  const mod = (await import(new URL(`./${name}.ts`, dir).href)) as { run: () => Promise<void> };
  await mod.run();
}
const { releaseGpu } = await import('../src/backends/webgpu/device.js');
await releaseGpu();
