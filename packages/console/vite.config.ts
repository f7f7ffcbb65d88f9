// The console builds into the server package's dist/, which its tarball ships: an installed
// @keyward/server serves the console without this package (see packages/server/src/http/console).
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../server/dist/console', import.meta.url)),
    emptyOutDir: true,
    // One app, loaded once per visit; the component and chart libraries are most of it.
    chunkSizeWarningLimit: 1500,
    // No inline module-preload polyfill script: the CSP allows scripts from this origin only.
    modulePreload: { polyfill: false },
  },
  // `npm run dev -w packages/console` against a server on :4000.
  server: { proxy: { '/v1': 'http://127.0.0.1:4000' } },
});
