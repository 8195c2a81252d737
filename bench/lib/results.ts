/**
 * Bench results: every bench merges its rows into bench/results.json by `name` (so benches can
 * run one at a time) and rewrites bench/RESULTS.md as a table with machine and date.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';

export interface BenchRow {
  name: string;
  volfit_per_s?: number;
  quantlib_per_s?: number;
  ratio?: number;
  max_rel_err?: number;
  [extra: string]: unknown;
}

const jsonPath = new URL('../results.json', import.meta.url);
const mdPath = new URL('../RESULTS.md', import.meta.url);

export function machineLine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  return `${os.cpus().length} x ${cpu}, ${os.platform()} ${os.release()}, Node ${process.version}`;
}

export function recordResults(rows: BenchRow[], section: string, notes: string[] = []): void {
  const stamp = { date: new Date().toISOString().slice(0, 10), machine: machineLine(), section };
  const existing: BenchRow[] = existsSync(jsonPath) ? JSON.parse(readFileSync(jsonPath, 'utf8')) : [];
  const byName = new Map(existing.map((r) => [r.name, r]));
  for (const r of rows) byName.set(r.name, { ...r, ...stamp });
  const all = [...byName.values()];
  writeFileSync(jsonPath, JSON.stringify(all, null, 2) + '\n');
  writeMarkdown(all, section, notes);
}

function fmt(v: unknown): string {
  if (typeof v !== 'number') return v === undefined ? '' : String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(2) : v.toPrecision(4);
}

const notesBySection = new Map<string, string[]>();

function writeMarkdown(all: BenchRow[], section: string, notes: string[]): void {
  const md = existsSync(mdPath) ? readFileSync(mdPath, 'utf8') : '';
  // Keep the notes of other sections as they were written.
  for (const m of md.matchAll(/<!-- notes:(.+?) -->\n([\s\S]*?)<!-- \/notes -->/g)) {
    if (!notesBySection.has(m[1])) notesBySection.set(m[1], m[2].trim().split('\n'));
  }
  if (notes.length) notesBySection.set(section, notes);
  const sections = [...new Set(all.map((r) => String(r.section)))].sort();
  const out = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (tinybench). Each row was measured with QuantLib in the same run on the',
    'machine named; compare ratios, not absolute figures (shared machines vary by about 10 %).',
    '',
  ];
  for (const s of sections) {
    const rows = all.filter((r) => r.section === s);
    const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter(
      (k) => !['section', 'machine', 'date'].includes(k),
    );
    out.push(`## ${s}`, '', `Machine: ${rows[0].machine}; date: ${rows[0].date}`, '');
    out.push(`| ${keys.join(' | ')} |`, `| ${keys.map(() => '---').join(' | ')} |`);
    for (const r of rows) out.push(`| ${keys.map((k) => fmt(r[k])).join(' | ')} |`);
    out.push('', `<!-- notes:${s} -->`, ...(notesBySection.get(s) ?? []), '<!-- /notes -->', '');
  }
  writeFileSync(mdPath, out.join('\n'));
}

/** The row last recorded under `name` in bench/results.json (a bench that re-runs some columns keeps the others). */
export function lastRecorded(name: string): BenchRow | undefined {
  if (!existsSync(jsonPath)) return undefined;
  return (JSON.parse(readFileSync(jsonPath, 'utf8')) as BenchRow[]).find((r) => r.name === name);
}
