/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';

// PORT and API_URL come from the AppHost (or the developer's shell); the defaults match `dotnet run --project FlagAnalyzer.Api`.
const apiUrl = process.env.API_URL ?? 'http://localhost:5080';
const port = process.env.PORT ? Number(process.env.PORT) : 5173;

export default defineConfig({
  base: '/ui/',
  plugins: [react(), tailwindcss()],
  server: {
    port,
    strictPort: !!process.env.PORT,
    host: process.env.PORT ? true : undefined,
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
