import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
// Workspace packages resolve to their TypeScript sources: the page builds without building them.
const packages = ['core', 'llm-condition-adapter', 'mask2former-decoder', 'bsf-layer', 'bar-head', 'flowseg-model', 'refseg-synth'];

export default defineConfig({
  // Relative asset URLs: dist/ can be served from any path.
  base: './',
  // Written by scripts/prepareAssets.ts: tfjs-backend-wasm's .wasm binaries and the checkpoint.
  publicDir: 'public-generated',
  resolve: {
    alias: packages.map((p) => ({ find: new RegExp(`^@flowseg/${p}$`), replacement: `${root}packages/${p}/src/index.ts` })),
  },
  worker: { format: 'es' },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 4096 },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
});
