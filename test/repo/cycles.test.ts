/**
 * No import cycles in src/: modules form layers (optim <- calibrator, engines <- calibrator, ...),
 * so a module can be read, tested and reused without what sits above it. Type-only imports count
 * too: a cycle of types still ties two modules' designs together.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return files(p);
    return name.endsWith('.ts') ? [p] : [];
  });
}

// Static imports and re-exports with a relative specifier ('./x.js' is the file './x.ts').
const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/gm;

/** Each source file's relative imports, as source paths. */
export function importGraph(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of files(root)) {
    const deps: string[] = [];
    for (const m of readFileSync(f, 'utf8').matchAll(IMPORT)) {
      deps.push(normalize(join(dirname(f), m[1].replace(/\.js$/, '.ts'))));
    }
    graph.set(normalize(f), deps);
  }
  return graph;
}

/** One cycle per strongly connected component with more than one module (or a self-import). */
export function cycles(graph: Map<string, string[]>): string[][] {
  const out: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      if (!graph.has(d)) continue;
      if (state.get(d) === 'open') out.push([...stack.slice(stack.indexOf(d)), d]);
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  return out;
}

describe('import cycles', () => {
  it('finds a cycle where there is one (the checker itself)', () => {
    const g = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]);
    expect(cycles(g)).toEqual([['a', 'b', 'c', 'a']]);
    expect(cycles(new Map([['a', ['b']], ['b', []]]))).toEqual([]);
  });

  it('src/ has none', () => {
    const found = cycles(importGraph('src')).map((c) => c.join(' -> '));
    expect(found).toEqual([]);
  });

  it('src/optim knows nothing of pricing', () => {
    const g = importGraph('src');
    const outside = [...g].filter(([f]) => f.startsWith(join('src', 'optim')))
      .flatMap(([f, deps]) => deps.filter((d) => !d.startsWith(join('src', 'optim')) && !d.startsWith(join('src', 'util'))).map((d) => `${f} -> ${d}`));
    expect(outside).toEqual([]);
  });
});
