import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// Builds only the renderer (the control center) into out/renderer, exactly as electron-vite's
// renderer section does: `npm run build:web`. Koa serves the result at /dashboard/.
const root = fileURLToPath(new URL('.', import.meta.url))

export default defineConfig({
  root: resolve(root, 'src/renderer'),
  base: './',
  plugins: [vue()],
  build: {
    outDir: resolve(root, 'out/renderer'),
    emptyOutDir: true,
    // One bundle for the app (Vue, Pinia, tree-shaken ECharts): it is served once, cached for a year.
    chunkSizeWarningLimit: 1024,
    rollupOptions: { input: { index: resolve(root, 'src/renderer/index.html') } },
  },
})
