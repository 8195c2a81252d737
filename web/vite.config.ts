/**
 * Vite build of the browser app (web/ -> dist/web/, shipped in the npm package's dist). Node-only
 * corners of the library (Dawn's `webgpu` package, node:* modules used by file, stream and worker
 * helpers, csv-parse's stream API) resolve to a stub whose every export throws: the page never
 * takes those branches (device.ts and shaderSource.ts import them lazily, only under Node).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const STUB = '\0volfit-node-stub';

function nodeStubs(): Plugin {
  return {
    name: 'volfit-node-stubs',
    enforce: 'pre',
    resolveId: (id) => (id === 'webgpu' || id.startsWith('node:') ? STUB : null),
    load: (id) =>
      id === STUB
        ? {
            code: `const fail = () => { throw new Error('Node-only module: not available in the browser'); };
export const __stub = new Proxy({}, { get: () => fail });
export default __stub;`,
            syntheticNamedExports: '__stub',
          }
        : null,
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  publicDir: 'public',
  plugins: [nodeStubs()],
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
