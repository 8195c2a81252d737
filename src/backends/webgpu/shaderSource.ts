/**
 * Loads WGSL from the repository's `shaders/` folder, in Node (fs) and in browsers or bundlers
 * (fetch of an `import.meta.url`-relative URL, which Vite and webpack rewrite to an asset).
 * `//!include name.wgsl` lines are replaced by that file once, so kernels share one math library.
 */

const cache = new Map<string, Promise<string>>();

// src/backends/webgpu/ and dist/backends/webgpu/ are both three levels below the package root.
let shaderBase: URL | string = new URL('../../../shaders/', import.meta.url);

/**
 * Where `shaders/` is served from, for bundles whose own URL says nothing about it (a browser
 * page serving the folder at `/shaders/`, say). Relative bases resolve against the page.
 */
export function setShaderBaseUrl(base: string | URL): void {
  const href = String(base);
  shaderBase = href.endsWith('/') ? href : `${href}/`;
  cache.clear();
}

function shaderUrl(name: string): URL {
  const base = typeof shaderBase === 'string' ? new URL(shaderBase, globalThis.location?.href) : shaderBase;
  return new URL(name, base);
}

async function readRaw(name: string): Promise<string> {
  const url = shaderUrl(name);
  if (url.protocol === 'file:') {
    const fs = await import('node:fs/promises');
    return fs.readFile(url, 'utf8');
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`shader ${name}: HTTP ${res.status} from ${url.href}`);
  return res.text();
}

async function expand(name: string, seen: Set<string>): Promise<string> {
  if (seen.has(name)) return '';
  seen.add(name);
  const text = await readRaw(name);
  const parts: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*\/\/!include\s+(\S+)\s*$/.exec(line);
    parts.push(m ? await expand(m[1], seen) : line);
  }
  return parts.join('\n');
}

/** The WGSL source of `shaders/<name>` with its includes expanded. */
export function loadShader(name: string): Promise<string> {
  let p = cache.get(name);
  if (!p) {
    p = expand(name, new Set());
    cache.set(name, p);
  }
  return p;
}
