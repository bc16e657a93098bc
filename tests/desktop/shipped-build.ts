import { execFile } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'

/*
 * The desktop app exactly as `npm run build` makes it (electron-vite build: out/main, out/preload,
 * out/renderer), built into a temp folder of the calling test file's own, so the shipped-* tests
 * check what ships and never touch the out/ other tests read.
 */

export const repo = resolve(import.meta.dirname, '../..')

export interface ShippedBuild {
  /**
   * The temp folder, laid out as the packaged app is (app.asar's root): package.json (its `main`
   * and `type`), out/, and node_modules (a link to the project's).
   */
  dir: string
  /** The electron-vite output: main/, preload/, renderer/. */
  out: string
  remove(): void
}

export async function buildShipped(prefix = 'crawldeck-shipped-'): Promise<ShippedBuild> {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const out = join(dir, 'out')
  try {
    await promisify(execFile)(join(repo, 'node_modules/.bin/electron-vite'), ['build', '--outDir', out, '--logLevel', 'warn'], {
      cwd: repo,
      maxBuffer: 16 * 1024 * 1024,
    })
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  copyFileSync(join(repo, 'package.json'), join(dir, 'package.json'))
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir')
  return { dir, out, remove: () => rmSync(dir, { recursive: true, force: true }) }
}
