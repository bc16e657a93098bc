import { execFileSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'

/* The built dashboard (out/renderer) for tests that open it in Chromium. */

const repo = resolve(import.meta.dirname, '../..')

function newestMtime(dir: string): number {
  let newest = 0
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    const st = statSync(path)
    newest = Math.max(newest, st.isDirectory() ? newestMtime(path) : st.mtimeMs)
  }
  return newest
}

/** out/renderer as `npm run build:web` makes it, rebuilt when the renderer sources are newer. */
export function ensureRendererBuild(): void {
  let built: number
  try {
    built = statSync(join(repo, 'out/renderer/index.html')).mtimeMs
  } catch {
    built = 0
  }
  const sources = Math.max(newestMtime(join(repo, 'src/renderer')), newestMtime(join(repo, 'src/shared')))
  if (built < sources) execFileSync('npx', ['vite', 'build', '--config', 'vite.renderer.config.ts'], { cwd: repo, stdio: 'ignore' })
}
