import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { describe, expect, it } from 'vitest'
import { contract } from '../src/shared/contract.js'

const root = join(import.meta.dirname, '..')

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

describe('architecture', () => {
  it('the engine (src/main/core) never imports electron, koa or vue', () => {
    const offenders: string[] = []
    for (const file of sourceFiles(join(root, 'src/main/core'))) {
      for (const spec of importsOf(file)) {
        if (/^(electron|koa|@koa\/|vue|pinia)($|\/)/.test(spec)) offenders.push(`${relative(root, file)} imports ${spec}`)
      }
    }
    expect(offenders).toEqual([])
  })

  it('only the Electron entry, the desktop shell and the preload import electron', () => {
    const electronSide = [join('src', 'main', 'index.ts'), join('src', 'main', 'desktop') + sep, join('src', 'preload') + sep]
    const offenders: string[] = []
    for (const file of sourceFiles(join(root, 'src'))) {
      const rel = relative(root, file)
      if (electronSide.some((allowed) => rel === allowed || rel.startsWith(allowed))) continue
      if (importsOf(file).some((s) => s === 'electron' || s.startsWith('electron/'))) offenders.push(relative(root, file))
    }
    expect(offenders).toEqual([])
  })

  it('src/shared imports nothing from main or renderer', () => {
    const offenders: string[] = []
    for (const file of sourceFiles(join(root, 'src/shared'))) {
      for (const spec of importsOf(file)) if (/\/(main|renderer)\//.test(spec)) offenders.push(`${relative(root, file)} imports ${spec}`)
    }
    expect(offenders).toEqual([])
  })

  it('the import scanner sees real imports (guards the checks above)', () => {
    const imports = importsOf(join(root, 'src/main/http/app.ts'))
    expect(imports).toContain('koa')
  })

  it('every contract operation has a unique method + path', () => {
    const keys = Object.values(contract).map((op) => `${op.method} ${op.path}`)
    expect(new Set(keys).size).toBe(keys.length)
  })
})
