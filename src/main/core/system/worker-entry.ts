import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker, type WorkerOptions } from 'node:worker_threads'

/**
 * A worker thread on the entry `name` beside the calling module (`from` = its import.meta.url).
 * Built, the caller is bundled into out/main/index.js and the entry is out/main/<name>.js; from
 * the sources (tsx, tests) it is <name>.ts, started through ts-worker-boot.mjs. Paths are joined
 * by hand: Vite rewrites `new URL('./x', import.meta.url)` into an asset at build time.
 */
export function startWorker(name: string, from: string, options: WorkerOptions = {}): Worker {
  const dir = dirname(fileURLToPath(from))
  // The caller may also land in a shared chunk (out/main/chunks/) when the bundle is split.
  const built = [join(dir, `${name}.js`), join(dir, '..', `${name}.js`)].find((path) => existsSync(path))
  if (built) return new Worker(built, options)
  const source = join(dir, `${name}.ts`)
  if (!existsSync(source)) throw new Error(`worker entry ${name} not found beside ${dir} (.js or .ts)`)
  const boot = join(dirname(fileURLToPath(import.meta.url)), 'ts-worker-boot.mjs')
  return new Worker(boot, { ...options, workerData: { entry: pathToFileURL(source).href } })
}
