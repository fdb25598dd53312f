/// <reference types="vitest/config" />
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';

// PORT and API_URL come from the AppHost (or the developer's shell); the defaults match `dotnet run --project FlagAnalyzer.Api`.
const apiUrl = process.env.API_URL ?? 'http://localhost:5080';
const port = process.env.PORT ? Number(process.env.PORT) : 5173;

// the AppHost links the dev server's root; the app lives under /ui/, as it does when the API serves it
const rootToUi: Plugin = {
  name: 'root-to-ui',
  configureServer(server) {
    server.middlewares.use((req, res, next) => {
      if (req.url === '/' || req.url === '/ui') {
        res.statusCode = 302;
        res.setHeader('Location', '/ui/');
        res.end();
        return;
      }
      next();
    });
  },
};

export default defineConfig({
  base: '/ui/',
  plugins: [react(), tailwindcss(), rootToUi],
  server: {
    port,
    strictPort: !!process.env.PORT,
    // loopback only, like the API and Redis: nothing on the network reaches a dev server
    host: '127.0.0.1',
    proxy: {
      '/api': { target: apiUrl, changeOrigin: true },
      '/health': { target: apiUrl, changeOrigin: true },
      '/hubs': { target: apiUrl, changeOrigin: true, ws: true },
      '/ws': { target: apiUrl, changeOrigin: true, ws: true },
    },
  },
  build: {
    // the API serves this folder at /ui (FlagAnalyzer.Api/Ui); it is git-ignored
    outDir: '../FlagAnalyzer.Api/wwwroot/ui',
    emptyOutDir: true,
    chunkSizeWarningLimit: 700,
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
    css: false,
  },
});
