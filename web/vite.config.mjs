// The web UI's build: `scripts/build.mjs` runs it (npm ci's `prepare`, `npm run build`, `npm test`); Heimdall
// serves web/dist at `/`. `npm run dev:web` serves it with hot reload, proxying the APIs to a running Heimdall.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const heimdall = process.env.HEIMDALL_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root: path.dirname(fileURLToPath(import.meta.url)),
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Source maps stay out of what the server ships; a build for debugging can turn them on.
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: { proxy: { '/api': heimdall } },
});
