// Plain JS on purpose: the workspace lint's import-x resolver cannot parse vite's type exports.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The console's build: a static SPA in console/dist that console/server.ts serves. In `vite dev` the
// same /api/<service> paths are proxied to the services' local ports.
const ports = {
  ingestion: 3001,
  cleansing: 3002,
  scoring: 3003,
  allocation: 3004,
  nurturing: 3005,
  reporting: 3006,
  webhooks: 3007,
};

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000 },
  server: {
    proxy: Object.fromEntries(
      Object.entries(ports).map(([name, port]) => [
        `/api/${name}`,
        { target: `http://127.0.0.1:${port}`, rewrite: (p) => p.replace(`/api/${name}`, '') },
      ]),
    ),
  },
});
