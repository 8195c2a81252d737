/**
 * Loads WGSL from the repository's `shaders/` folder, in Node (fs) and in browsers or bundlers
 * (fetch of an `import.meta.url`-relative URL, which Vite and webpack rewrite to an asset).
 * Directives (a line of its own):
 *  - `//!include name.wgsl`: that file, once per shader, so kernels share one math library;
 *  - `//!struct Name`: the WGSL `struct` of the TypeScript record Name (layout.ts defineRecord),
 *    and of the records it nests, once per shader;
 *  - `//!bindings` / `//!consts`: the storage bindings / `const` values of this file's TypeScript
 *    declaration (layout.ts defineShader).
 * Records and shader declarations live in the kernels' TypeScript modules, which the bundle
 * carries: the same .wgsl files serve Node and browsers.
 */
import { shaderLayoutOf, structWgsl } from './layout.js';

const cache = new Map<string, Promise<string>>();
/** WGSL texts a bundle carries (name -> text), read before any file or URL. */
const bundled = new Map<string, string>();

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

/**
 * Hands the loader the text of shaders/ files (name relative to shaders/, e.g. `lib/math.wgsl`),
 * for bundles that carry them (the web app imports them with Vite's `?raw`): no fetch at run
 * time, so the page works offline once loaded.
 */
export function registerShaderSources(files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) bundled.set(name, text);
  cache.clear();
}

function shaderUrl(name: string): URL {
  const base = typeof shaderBase === 'string' ? new URL(shaderBase, globalThis.location?.href) : shaderBase;
  return new URL(name, base);
}

async function readRaw(name: string): Promise<string> {
  const text = bundled.get(name);
  if (text !== undefined) return text;
  const url = shaderUrl(name);
  if (url.protocol === 'file:') {
    const fs = await import('node:fs/promises');
    return fs.readFile(url, 'utf8');
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`shader ${name}: HTTP ${res.status} from ${url.href}`);
  return res.text();
}

async function expand(name: string, seen: Set<string>, structs: Set<string>): Promise<string> {
  if (seen.has(name)) return '';
  seen.add(name);
  return expandText(name, await readRaw(name), seen, structs);
}

async function expandText(name: string, text: string, seen: Set<string>, structs: Set<string>): Promise<string> {
  const parts: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*\/\/!(include|struct|bindings|consts)(?:\s+(\S+))?\s*$/.exec(line);
    if (!m) {
      parts.push(line);
      continue;
    }
    const [, directive, arg] = m;
    if ((directive === 'include' || directive === 'struct') !== (arg !== undefined)) {
      throw new Error(`shader ${name}: malformed directive ${line.trim()}`);
    }
    if (directive === 'include') parts.push(await expand(arg!, seen, structs));
    else if (directive === 'struct') parts.push(structWgsl(arg!, structs));
    else if (directive === 'bindings') parts.push(shaderLayoutOf(name).bindingsWgsl());
    else parts.push(shaderLayoutOf(name).constsWgsl());
  }
  return parts.join('\n');
}

/**
 * Expands the directives of WGSL `text` as if it were the file `name` (tests, generated kernels);
 * includes are read from shaders/.
 */
export function expandShaderText(name: string, text: string): Promise<string> {
  return expandText(name, text, new Set([name]), new Set());
}

/** The WGSL source of `shaders/<name>` with its includes expanded. */
export function loadShader(name: string): Promise<string> {
  let p = cache.get(name);
  if (!p) {
    p = expand(name, new Set(), new Set());
    cache.set(name, p);
    // A failure (a record not yet declared, a network error) is not remembered.
    p.catch(() => cache.delete(name));
  }
  return p;
}
