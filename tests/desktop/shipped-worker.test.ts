import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { Worker } from 'node:worker_threads'
import { createPackage, extractAll, listPackage } from '@electron/asar'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildShipped, repo, type ShippedBuild } from './shipped-build.js'

/*
 * The Markdown worker thread as it ships: out/main/markdown-worker.js (and the chunks it imports)
 * from `electron-vite build`, packed with @electron/asar into an app.asar together with the
 * production dependencies it names, as electron-builder packs them. Node cannot read inside an asar
 * (Electron patches fs for that), so the archive is extracted with @electron/asar's extractAll into
 * a folder with no node_modules above it, and the worker runs from there: it can only work if the
 * archive's file list is all it needs.
 */

let build: ShippedBuild
const extracted: string[] = []
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
const builtins = new Set(builtinModules)

/** Static and dynamic import/require specifiers of an ES module bundle. */
function specifiersOf(code: string): string[] {
  const found = new Set<string>()
  for (const re of [
    /\bimport\s[^'"]*?from\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
    /\brequire\(\s*["']([^"']+)["']\s*\)/g,
  ])
    for (const m of code.matchAll(re)) found.add(m[1] as string)
  return [...found]
}

/** The worker's own files (it and the chunks it imports, relatively) and the bare packages they import. */
function workerClosure(entry: string): { files: string[]; packages: string[] } {
  const files: string[] = []
  const packages = new Set<string>()
  const visit = (file: string) => {
    if (files.includes(file)) return
    files.push(file)
    for (const spec of specifiersOf(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('./') || spec.startsWith('../')) visit(resolve(dirname(file), spec))
      else if (spec.startsWith('node:') || builtins.has(spec)) continue
      else packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string))
    }
  }
  visit(entry)
  return { files, packages: [...packages].sort() }
}

/** The packages `names` need at run time, transitively, as hoisted in the project's node_modules. */
function dependencyClosure(names: string[]): string[] {
  const seen = new Set<string>()
  const walk = (name: string) => {
    if (seen.has(name)) return
    seen.add(name)
    const manifest = JSON.parse(readFileSync(join(repo, 'node_modules', name, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>
      optionalDependencies?: Record<string, string>
    }
    for (const dep of Object.keys(manifest.dependencies ?? {})) walk(dep)
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) if (existsSync(join(repo, 'node_modules', dep))) walk(dep)
  }
  for (const name of names) walk(name)
  return [...seen].sort()
}

/** An app.asar of package.json, out/ and these packages, extracted into a fresh folder; returns that folder. */
async function packAndExtract(name: string, packages: string[]): Promise<{ archive: string; root: string }> {
  const stage = join(build.dir, `${name}-stage`)
  mkdirSync(join(stage, 'node_modules'), { recursive: true })
  copyFileSync(join(repo, 'package.json'), join(stage, 'package.json'))
  cpSync(build.out, join(stage, 'out'), { recursive: true })
  for (const p of packages) cpSync(join(repo, 'node_modules', p), join(stage, 'node_modules', p), { recursive: true, dereference: true })
  const archive = join(build.dir, `${name}.asar`)
  await createPackage(stage, archive)
  // Apart from the build folder (whose node_modules links to the project's): nothing to fall back on.
  const root = mkdtempSync(join(tmpdir(), `crawldeck-shipped-worker-${name}-`))
  extracted.push(root)
  extractAll(archive, root)
  return { archive, root }
}

interface Reply {
  id?: number
  ready?: boolean
  markdown?: string
  error?: string
}

/** Starts the worker file, waits for its ready message, converts one page. */
function convert(workerFile: string, html: string): Promise<Reply> {
  return new Promise((resolvePromise, reject) => {
    const worker = new Worker(workerFile)
    worker.on('error', (err) => {
      void worker.terminate()
      reject(err)
    })
    worker.on('message', (m: Reply) => {
      if (m.ready) worker.postMessage({ id: 1, html, maxChars: 1_000_000 })
      else {
        void worker.terminate()
        resolvePromise(m)
      }
    })
  })
}

const PAGE = `<h1>Shipped</h1><p>From <a href="https://example.test/a">the archive</a>.</p>
<table><thead><tr><th>k</th><th>v</th></tr></thead><tbody><tr><td>a</td><td>1</td></tr></tbody></table>`

beforeAll(async () => {
  build = await buildShipped('crawldeck-shipped-worker-')
}, 180_000)

afterAll(() => {
  build?.remove()
  for (const dir of extracted) rmSync(dir, { recursive: true, force: true })
})

describe('the Markdown worker from a real app.asar', () => {
  it('imports nothing but Node built-ins, its own chunks and production dependencies', () => {
    const { files, packages } = workerClosure(join(build.out, 'main/markdown-worker.js'))
    for (const file of files) expect(relative(build.out, file), 'stays inside out/main').toMatch(/^main\//)
    expect(packages.length).toBeGreaterThan(0)
    // electron-builder packs `dependencies` only; a devDependency here would be missing when installed.
    for (const p of packages) expect(Object.keys(pkg.dependencies), p).toContain(p)
    expect(packages).not.toContain('electron')
  })

  it('runs from the extracted archive, with nothing above it, and converts HTML to Markdown', async () => {
    const { packages } = workerClosure(join(build.out, 'main/markdown-worker.js'))
    const { archive, root } = await packAndExtract('app', dependencyClosure(packages))
    const listed = listPackage(archive, { isPack: false }).map((p) => p.replaceAll('\\', '/'))
    expect(listed).toEqual(expect.arrayContaining(['/out/main/markdown-worker.js', '/package.json', '/node_modules/turndown/package.json']))
    // No node_modules between the extracted root and / that Node could fall back to.
    for (let dir = dirname(root); dir !== dirname(dir); dir = dirname(dir)) expect(existsSync(join(dir, 'node_modules')), dir).toBe(false)
    const reply = await convert(join(root, 'out/main/markdown-worker.js'), PAGE)
    expect(reply.error).toBeUndefined()
    expect(reply.id).toBe(1)
    expect(reply.markdown).toMatch(/^# Shipped/m)
    expect(reply.markdown).toContain('[the archive](https://example.test/a)')
    // The GFM plugin (a dependency of its own) made the table.
    expect(reply.markdown).toMatch(/\|\s*k\s*\|\s*v\s*\|/)
  })

  it('fails from an archive that lacks one of its dependencies (the check above can fail)', async () => {
    const { packages } = workerClosure(join(build.out, 'main/markdown-worker.js'))
    const without = dependencyClosure(packages).filter((p) => p !== 'turndown')
    const { root } = await packAndExtract('broken', without)
    await expect(convert(join(root, 'out/main/markdown-worker.js'), PAGE)).rejects.toThrow(/turndown/)
  })
})
