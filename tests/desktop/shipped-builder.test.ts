import { execFile } from 'node:child_process'
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { promisify } from 'node:util'
import { Worker } from 'node:worker_threads'
import { extractAll, listPackage } from '@electron/asar'
import { FuseV1Options, FuseVersion, getCurrentFuseWire } from '@electron/fuses'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildShipped, repo, type ShippedBuild } from './shipped-build.js'

/*
 * The packaged app, made the way `npm run package:linux` makes it but as a folder (--dir) and
 * against a stub Electron distribution (the real one cannot be downloaded here): electron-builder
 * with this project's electron-builder.yml, then its resources/app.asar listed with @electron/asar
 * and checked, and the fuses read back from the executable it wrote them into. Downloads are made
 * to fail (a dead proxy), so the build is proven offline.
 */

let build: ShippedBuild
let appOutDir: string
let listed: string[]
let builderLog = ''
const extracted: string[] = []

const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
const electronVersion = (JSON.parse(readFileSync(join(repo, 'node_modules/electron/package.json'), 'utf8')) as { version: string }).version
/** Packages only the renderer (bundled by Vite into out/renderer) or the tooling use. */
const RENDERER_ONLY = ['vue', 'pinia', 'echarts', 'zrender', 'vue-echarts', 'codemirror', '@codemirror', '@vue', '@lezer', 'vite', '@vitejs']
/** Production dependencies only `npm run serve` needs (it runs the sources): left out of the app. */
const SERVE_ONLY = ['tsx', 'esbuild', '@esbuild']
const TOOLING = ['electron', 'electron-vite', 'electron-builder', 'app-builder-lib', 'vitest', 'typescript', 'eslint', 'prettier', 'happy-dom', 'crawlee']

/**
 * A stand-in for an unpacked Electron for Linux: what electron-builder copies and renames (the
 * `electron` executable, resources/, the licence files, `version`). The executable is a shell
 * script that carries Electron's fuse wire (sentinel, wire version 1, 8 fuses all "inherit") so
 * @electron/fuses can flip it as it flips the real binary's.
 */
function stubElectron(dir: string): void {
  mkdirSync(join(dir, 'resources'), { recursive: true })
  const wire = Buffer.concat([Buffer.from('dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX'), Buffer.from([1, 8]), Buffer.alloc(8, 0x90)])
  writeFileSync(join(dir, 'electron'), Buffer.concat([Buffer.from('#!/bin/sh\necho "stub electron"\nexit 0\n# '), wire, Buffer.from('\n')]), { mode: 0o755 })
  writeFileSync(join(dir, 'LICENSE'), 'MIT (stub)\n')
  writeFileSync(join(dir, 'LICENSES.chromium.html'), '<html></html>\n')
  writeFileSync(join(dir, 'version'), `${electronVersion}\n`)
}

beforeAll(async () => {
  build = await buildShipped('crawldeck-shipped-builder-')
  // The project as electron-builder sees it: its config, the lock file, the build resources
  // (a real copy: a symlinked resources/ is not packed), package.json, node_modules and out/.
  copyFileSync(join(repo, 'electron-builder.yml'), join(build.dir, 'electron-builder.yml'))
  copyFileSync(join(repo, 'package-lock.json'), join(build.dir, 'package-lock.json'))
  cpSync(join(repo, 'resources'), join(build.dir, 'resources'), { recursive: true })
  const stub = join(build.dir, 'stub-electron')
  stubElectron(stub)
  const output = join(build.dir, 'dist')
  const deadProxy = 'http://127.0.0.1:9'
  const result = await promisify(execFile)(
    join(repo, 'node_modules/.bin/electron-builder'),
    [
      '--dir',
      '--linux',
      '--x64',
      '--projectDir',
      build.dir,
      `-c.electronDist=${stub}`,
      `-c.electronVersion=${electronVersion}`,
      `-c.directories.output=${output}`,
    ],
    {
      cwd: build.dir,
      maxBuffer: 64 * 1024 * 1024,
      // builder-util silences its log when it sees VITEST; the log is what shows which Electron was used.
      env: { ...process.env, VITEST: '', HTTPS_PROXY: deadProxy, HTTP_PROXY: deadProxy, https_proxy: deadProxy, http_proxy: deadProxy },
    },
  )
  builderLog = `${result.stdout}\n${result.stderr}`
  appOutDir = join(output, 'linux-unpacked')
  listed = listPackage(join(appOutDir, 'resources/app.asar'), { isPack: false }).map((p) => p.replaceAll('\\', '/'))
}, 600_000)

afterAll(() => {
  build?.remove()
  for (const dir of extracted) rmSync(dir, { recursive: true, force: true })
})

describe('electron-builder --dir against a stub Electron', () => {
  it('used the stub distribution and downloaded nothing', () => {
    expect(builderLog).toMatch(/using custom unpacked Electron distribution/)
    expect(builderLog).not.toMatch(/downloading/i)
  })

  it('packs main, preload, the renderer, the worker and the tray icon into app.asar', () => {
    const html = readFileSync(join(build.out, 'renderer/index.html'), 'utf8')
    const assets = [...html.matchAll(/(?:src|href)="\.\/([^"]+)"/g)].map((m) => `/out/renderer/${m[1]}`)
    expect(assets.length).toBeGreaterThanOrEqual(2)
    const chunks = listed.filter((p) => p.startsWith('/out/main/chunks/'))
    expect(chunks.length).toBeGreaterThan(0)
    expect(listed).toEqual(
      expect.arrayContaining([
        '/package.json',
        '/out/main/index.js',
        '/out/main/markdown-worker.js',
        '/out/preload/index.cjs',
        '/out/renderer/index.html',
        ...assets,
        '/resources/icons/32x32.png',
      ]),
    )
    // main finds the tray icon at ../../resources/icons/32x32.png beside out/main (electron-vite's
    // `?asset`, relative to the build's place in the project): that is the file packed above.
    const iconRef = /\(import\.meta\.dirname,\s*"([^"]*32x32\.png)"\)/.exec(readFileSync(join(build.out, 'main/index.js'), 'utf8'))?.[1]
    expect(iconRef).toBeDefined()
    expect(relative(repo, resolve(build.out, 'main', iconRef as string)).replaceAll('\\', '/')).toBe('resources/icons/32x32.png')
  })

  it('packs no tests, benchmarks, sources, source maps or build files', () => {
    const own = listed.filter((p) => !p.startsWith('/node_modules/'))
    for (const dir of ['/tests', '/bench', '/src', '/scripts', '/docs', '/dist', '/stub-electron', '/test-artifacts'])
      expect(
        own.filter((p) => p === dir || p.startsWith(`${dir}/`)),
        dir,
      ).toEqual([])
    expect(own.filter((p) => p.endsWith('.map'))).toEqual([])
    expect(own.filter((p) => /\.(ts|vue)$/.test(p) || /electron-builder\.yml|package-lock\.json|tsconfig/.test(p))).toEqual([])
    // Only the one icon main uses, not the whole build resources folder.
    expect(own.filter((p) => p.startsWith('/resources/') && p !== '/resources/icons')).toEqual(['/resources/icons/32x32.png'])
  })

  it('packs every production dependency and none that only the renderer or the tooling needs', () => {
    const packages = new Set(
      listed
        .filter((p) => /^\/node_modules\/(@[^/]+\/)?[^/]+\/package\.json$/.test(p))
        .map((p) => p.replace(/^\/node_modules\//, '').replace(/\/package\.json$/, '')),
    )
    for (const dep of Object.keys(pkg.dependencies).filter((d) => !SERVE_ONLY.includes(d))) expect(packages.has(dep), dep).toBe(true)
    for (const name of [...RENDERER_ONLY, ...TOOLING, ...SERVE_ONLY]) {
      const found = [...packages].filter((p) => p === name || p.startsWith(`${name}/`))
      expect(found, name).toEqual([])
    }
  })

  it('flipped the fuses of electron-builder.yml in the executable it made', async () => {
    const wire = await getCurrentFuseWire(join(appOutDir, 'crawldeck'))
    const on = 49
    const off = 48
    expect(wire.version).toBe(FuseVersion.V1)
    expect({
      runAsNode: wire[FuseV1Options.RunAsNode],
      enableCookieEncryption: wire[FuseV1Options.EnableCookieEncryption],
      enableNodeOptionsEnvironmentVariable: wire[FuseV1Options.EnableNodeOptionsEnvironmentVariable],
      enableNodeCliInspectArguments: wire[FuseV1Options.EnableNodeCliInspectArguments],
      enableEmbeddedAsarIntegrityValidation: wire[FuseV1Options.EnableEmbeddedAsarIntegrityValidation],
      onlyLoadAppFromAsar: wire[FuseV1Options.OnlyLoadAppFromAsar],
      loadBrowserProcessSpecificV8Snapshot: wire[FuseV1Options.LoadBrowserProcessSpecificV8Snapshot],
      grantFileProtocolExtraPrivileges: wire[FuseV1Options.GrantFileProtocolExtraPrivileges],
    }).toEqual({
      runAsNode: off,
      enableCookieEncryption: on,
      enableNodeOptionsEnvironmentVariable: off,
      enableNodeCliInspectArguments: off,
      enableEmbeddedAsarIntegrityValidation: on,
      onlyLoadAppFromAsar: on,
      loadBrowserProcessSpecificV8Snapshot: off,
      grantFileProtocolExtraPrivileges: off,
    })
  })

  it("runs the Markdown worker from the packaged app.asar's own files", async () => {
    const root = mkdtempSync(join(tmpdir(), 'crawldeck-shipped-builder-asar-'))
    extracted.push(root)
    extractAll(join(appOutDir, 'resources/app.asar'), root)
    // Native parts electron-builder kept out of the archive, if any, sit beside it, as Electron
    // reads them (which ones depends on the install: a prebuilt or a locally built addon).
    const unpacked = join(appOutDir, 'resources/app.asar.unpacked')
    if (existsSync(unpacked)) cpSync(unpacked, root, { recursive: true })
    const markdown = await new Promise<string>((resolvePromise, reject) => {
      const worker = new Worker(join(root, 'out/main/markdown-worker.js'))
      worker.on('error', reject)
      worker.on('message', (m: { ready?: boolean; markdown?: string; error?: string }) => {
        if (m.ready) worker.postMessage({ id: 1, html: '<h2>Packed</h2><p>by <em>electron-builder</em></p>', maxChars: 100_000 })
        else {
          void worker.terminate()
          if (m.markdown === undefined) reject(new Error(m.error ?? 'no markdown'))
          else resolvePromise(m.markdown)
        }
      })
    })
    expect(markdown).toBe('## Packed\n\nby *electron-builder*')
  })
})
