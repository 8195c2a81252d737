/**
 * Vite build of the browser app (web/ -> dist/web/, shipped in the npm package's dist). Node-only
 * corners of the library (Dawn's `webgpu` package, node:* modules used by file, stream and worker
 * helpers, csv-parse's stream API) resolve to a stub whose every export throws: the page never
 * takes those branches (device.ts and shaderSource.ts import them lazily, only under Node).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const STUB = '\0volfit-node-stub:';

/** Each Node-only module becomes a module with the same export names, each a function that throws. */
function nodeStubs(): Plugin {
  return {
    name: 'volfit-node-stubs',
    enforce: 'pre',
    resolveId: (id) => (id === 'webgpu' || id.startsWith('node:') ? STUB + id : null),
    async load(id) {
      if (!id.startsWith(STUB)) return null;
      const name = id.slice(STUB.length);
      // Dawn's bindings are not loaded to list their names: the two device.ts uses.
      const names = name === 'webgpu' ? ['create', 'globals'] : Object.keys(await import(name));
      const exports = names.filter((n) => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n)).map((n) => `export const ${n} = fail;`);
      return `const fail = () => { throw new Error('${name} is Node-only: not available in the browser'); };\nexport default {};\n${exports.join('\n')}`;
    },
  };
}

/**
 * precache.json: every file of the build, worker chunks included, so the service worker can keep
 * what the first screen does not load (the report chunk) and the app works offline in full.
 */
function precacheList(): Plugin {
  return {
    name: 'volfit-precache-list',
    apply: 'build',
    generateBundle(_, bundle) {
      const files = Object.keys(bundle).filter((f) => !f.endsWith('.map'));
      this.emitFile({ type: 'asset', fileName: 'precache.json', source: JSON.stringify(files) });
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  publicDir: 'public',
  plugins: [nodeStubs(), precacheList()],
  resolve: {
    alias: [
      { find: /^csv-parse$/, replacement: fileURLToPath(new URL('./stubs/csv-parse.ts', import.meta.url)) },
      { find: /^csv-parse\/sync$/, replacement: 'csv-parse/browser/esm/sync' },
      // linkedom (the report's SVG DOM) tries the optional native `canvas` and falls back to its
      // own shim; in the bundle, the shim directly.
      { find: /^canvas$/, replacement: fileURLToPath(new URL('../node_modules/linkedom/commonjs/canvas-shim.cjs', import.meta.url)) },
    ],
  },
  worker: { format: 'es', plugins: () => [nodeStubs()] },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2000,
  },
  server: { fs: { allow: ['..'] } },
});
