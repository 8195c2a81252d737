/**
 * `npm run bench [name...]`: runs bench/<name>.ts (all of them without arguments). Each bench
 * compares with QuantLib in the same run and records into bench/results.json and RESULTS.md.
 */
import { readdirSync } from 'node:fs';

const dir = new URL('./', import.meta.url);
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3))
  .sort();
const wanted = process.argv.slice(2);
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
