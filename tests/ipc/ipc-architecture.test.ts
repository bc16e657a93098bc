import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { IpcMain, IpcMainEvent, IpcMainInvokeEvent, IpcRenderer, WebContents } from 'electron'
import { describe, expect, it } from 'vitest'
import type { IpcRendererLike } from '../../src/preload/bridge.js'
import type { IpcEventLike, IpcMainLike, WebContentsLike } from '../../src/main/ipc/types.js'
import { IPC_CHANNELS } from '../../src/shared/ipc.js'

/**
 * Where the IPC door may reach: src/main/ipc is Electron- and Koa-free (tested with fakes), the
 * engine knows nothing of it, the bridge module is Electron-free (the Chromium e2e bundles it),
 * and no channel name appears in the renderer (it talks to window.crawldeck's functions).
 */

const root = join(import.meta.dirname, '../..')

// Electron's own objects fit the structural types the door and bridge are written against
// (checked by tsc; `import type` leaves nothing to load at run time).
export const electronFits: Array<[IpcMainLike, IpcEventLike, IpcEventLike, WebContentsLike, IpcRendererLike]> = [] as unknown as Array<
  [IpcMain, IpcMainEvent, IpcMainInvokeEvent, WebContents, IpcRenderer]
>

function sourceFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path))
    else if (/\.(ts|vue)$/.test(name)) out.push(path)
  }
  return out
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm)].map(
    (m) => m[1] ?? m[2] ?? m[3] ?? '',
  )
}

function offenders(dir: string, bad: (spec: string) => boolean): string[] {
  return sourceFiles(join(root, dir)).flatMap((file) =>
    importsOf(file)
      .filter(bad)
      .map((spec) => `${relative(root, file)} imports ${spec}`),
  )
}

describe('IPC architecture', () => {
  it('src/main/ipc imports neither electron nor koa nor the HTTP door', () => {
    expect(importsOf(join(root, 'src/main/ipc/door.ts')).length).toBeGreaterThan(0)
    expect(offenders('src/main/ipc', (s) => /^(electron|koa|@koa\/)($|\/)/.test(s) || /\/http\//.test(s))).toEqual([])
  })

  it('the engine (src/main/core) imports neither the IPC door nor electron', () => {
    expect(offenders('src/main/core', (s) => /\/ipc\//.test(s) || /(^|\/)ipc(\.js)?$/.test(s) || /^electron($|\/)/.test(s))).toEqual([])
  })

  it('the preload bridge is electron-free; the preload entry imports only electron, the wire vocabulary and the bridge', () => {
    expect(importsOf(join(root, 'src/preload/bridge.ts')).filter((s) => !/^\.\.\/shared\//.test(s))).toEqual([])
    expect(importsOf(join(root, 'src/preload/index.ts')).sort()).toEqual(['../shared/ipc', './bridge', 'electron'].sort())
  })

  it('the renderer never imports electron and never names a channel', () => {
    const channels = Object.values(IPC_CHANNELS)
    const found: string[] = []
    for (const file of sourceFiles(join(root, 'src/renderer'))) {
      const text = readFileSync(file, 'utf8')
      if (importsOf(file).some((s) => /^electron($|\/)/.test(s))) found.push(`${relative(root, file)} imports electron`)
      if (text.includes('IPC_CHANNELS')) found.push(`${relative(root, file)} uses IPC_CHANNELS`)
      for (const channel of channels) if (text.includes(channel)) found.push(`${relative(root, file)} names ${channel}`)
    }
    expect(found).toEqual([])
  })
})
