import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import vue from '@vitejs/plugin-vue'

// Main and preload keep node_modules external (electron-vite's default); the renderer is a
// plain Vite + Vue build that Koa also serves at /dashboard.
export default defineConfig({
  main: {
    build: {
      // The Markdown worker thread is an entry of its own: out/main/markdown-worker.js, beside
      // index.js, where src/main/core/system/worker-entry.ts looks for it.
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'src/main/index.ts'),
          'markdown-worker': resolve(__dirname, 'src/main/core/crawl/markdown-worker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      // A sandboxed preload must be CommonJS.
      rollupOptions: { input: { index: resolve(__dirname, 'src/preload/index.ts') }, output: { format: 'cjs', entryFileNames: '[name].cjs' } },
    },
  },
  renderer: {
    root: resolve(__dirname, 'src/renderer'),
    base: './',
    build: {
      // Minified like `npm run build:web` (vite.renderer.config.ts): both write out/renderer.
      minify: true,
      chunkSizeWarningLimit: 1024,
      rollupOptions: { input: { index: resolve(__dirname, 'src/renderer/index.html') } },
    },
    plugins: [vue()],
  },
})
