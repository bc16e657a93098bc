// Runs before `npm run serve`: builds the dashboard (out/renderer) when it is missing or older
// than its sources, so a fresh clone's /dashboard works without a separate build step.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..')
const built = join(root, 'out', 'renderer', 'index.html')

function newest(dir) {
  let latest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }
  return latest
}

let builtAt = 0
try {
  builtAt = statSync(built).mtimeMs
} catch {
  // not built yet
}
const sources = Math.max(newest(join(root, 'src', 'renderer')), newest(join(root, 'src', 'shared')))
if (builtAt < sources) {
  process.stderr.write('crawldeck: building the dashboard (out/renderer)…\n')
  const result = spawnSync('npx', ['vite', 'build', '--config', 'vite.renderer.config.ts', '--logLevel', 'warn'], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  if (result.status !== 0) {
    process.stderr.write('crawldeck: the dashboard build failed; the API still works, /dashboard answers 503 until `npm run build:web` succeeds\n')
  }
}
